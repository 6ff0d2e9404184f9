/** Events the recorder lost (all its buffers were full): the trace has gaps, and says so. */
import type { Finding } from '../types.js';
import { at, type FindingContext, ms } from './context.js';

export function droppedFindings(ctx: FindingContext): Finding[] {
  const { timeline } = ctx.process;
  if (timeline.droppedTotal === 0) return [];
  const seconds = timeline.ordered().filter((s) => s.dropped > 0);
  const fromUs = timeline.firstDropUs;
  const toUs = Math.max(timeline.lastDropUs, fromUs);
  return [
    {
      kind: 'dropped-events',
      severity: 'warning',
      summary: `${timeline.droppedTotal} trace events were dropped (the recorder's buffers were full) in ${seconds.length} second${seconds.length === 1 ? '' : 's'} from ${at(ctx, fromUs)}: findings and breakdowns there may miss work`,
      startMs: ms(fromUs),
      durationMs: ms(toUs - fromUs),
      stack: [],
      requests: [],
      evidence: { dropped: timeline.droppedTotal, seconds: seconds.length },
    },
  ];
}
