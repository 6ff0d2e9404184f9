/** The little of DevTools' trace engine the export test reads (the package ships no types for this entry). */
declare module '@paulirish/trace_engine/analyze-trace.mjs' {
  interface Thread {
    readonly entries: readonly unknown[];
  }
  interface ParsedTrace {
    readonly data: {
      readonly Meta: { readonly traceBounds: { readonly min: number; readonly max: number; readonly range: number } };
      readonly Renderer: { readonly processes: Map<number, { readonly threads: Map<number, Thread> }> };
    };
  }
  export function analyzeEvents(events: readonly unknown[]): Promise<{ parsedTrace: ParsedTrace }>;
}
