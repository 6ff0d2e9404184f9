/**
 * Hangs: the main thread got stuck and never came back before the trace stops (a `for(;;){}`, a
 * deadlocked Atomics.wait, then `kill -9`). Only the watchdog's markers say so (see ../hangs.ts);
 * the loop's own events stop at the start, so without this the trace reads as a quiet end.
 */
import { requestRef } from '../requests.js';
import type { Finding, RequestRef } from '../types.js';
import { at, type FindingContext, fmtMs, ms, refsInWindow } from './context.js';

export function hangFindings(ctx: FindingContext): Finding[] {
  const { process } = ctx;
  return process.hangs.list().map((hang) => {
    const endUs = hang.startUs + hang.durationUs;
    const ran = process.requests.bySeq(hang.requestSeq);
    const requests: RequestRef[] = ran === undefined ? [] : [requestRef(ran, 'ran')];
    for (const ref of refsInWindow(ctx, hang.startUs, endUs))
      if (requests.length < process.options.requestsPerFinding && ref.requestId !== ran?.requestId) requests.push(ref);
    const samples = process.stacks.sitesIn(hang.startUs, endUs);
    const who =
      ran !== undefined
        ? `; the request that last ran: ${ran.requestId} ${ran.operation}`
        : hang.requestSeq > 0
          ? `; the request that last ran: #${hang.requestSeq} (no longer in the trace)`
          : '; no request ran code after the last heartbeat';
    // The last marker is written while the process still runs; nothing after it means the trace stops
    // inside the hang (killed, or died, while stuck).
    const stops = endUs >= ctx.endUs ? `, and the trace stops during it (at ${at(ctx, endUs)})` : '';
    return {
      kind: 'hang',
      severity: 'critical',
      summary: `the event loop hung: stuck from ${at(ctx, hang.startUs)} for at least ${fmtMs(hang.durationUs)} with no stall event, so it never returned${stops}; ${hang.inFlight} request${hang.inFlight === 1 ? '' : 's'} in flight${who}${samples === undefined ? '' : `; code then: ${samples.site}`}`,
      startMs: ms(hang.startUs),
      durationMs: ms(hang.durationUs),
      stack: samples?.stack ?? [],
      requests,
      evidence: {
        atLeastMs: ms(hang.durationUs),
        inFlight: hang.inFlight,
        ...(hang.requestSeq > 0 ? { requestSeq: hang.requestSeq } : {}),
        markers: hang.markers,
        traceEndsDuringIt: stops === '' ? 'no' : 'yes',
        totalMs: ms(hang.durationUs),
      },
      ...(samples === undefined ? {} : { site: samples.site }),
    };
  });
}
