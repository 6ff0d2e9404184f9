/**
 * Trace analysis: the red-flag scan (findings, worst first) and the explanation of one request's
 * wall time. Browser-safe (no Node imports outside `*-node.ts`); the CLI loads files with
 * `load-node.ts`, the viewer feeds segments itself. See docs/analysis.md.
 */
export { TraceAnalyzer } from './analyzer.js';
export { renderText } from './format-text.js';
export type {
  AnalysisReport,
  AnalyzeOptions,
  BreakdownParts,
  Finding,
  FindingKind,
  Frame,
  OutgoingRef,
  QueuedBehind,
  RequestBreakdown,
  RequestRef,
  Severity,
  TraceSummary,
} from './types.js';
export { flattenWideEvent } from './wide-events.js';
