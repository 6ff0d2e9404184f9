/** One `service load` run: workload from the config, the engine, then the numbers everything reports. */
import { type Progress, runLoad } from './engine.js';
import type { HttpClientKind } from './http-client.js';
import { type Summary, summarize } from './summary.js';
import { evaluateThresholds, type Threshold, type ThresholdOutcome } from './thresholds.js';
import { ItemsMix, type MixOptions, SingleRequest, type Workload } from './workload.js';

/** What to send: one request over and over, or the items mix. */
export type LoadWorkload =
  | {
      readonly kind: 'single';
      readonly method: string;
      readonly path: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: string | undefined;
    }
  | ({ readonly kind: 'mix' } & MixOptions);

/** A whole run, validated (src/config/load.ts builds it from `service load`'s flags). */
export interface LoadConfig {
  readonly url: URL;
  readonly origin: string;
  readonly workload: LoadWorkload;
  readonly connections: number;
  readonly pipelining: number;
  readonly durationMs: number | undefined;
  readonly requests: number | undefined;
  readonly ratePerSecond: number | undefined;
  readonly timeoutMs: number;
  readonly httpClient: HttpClientKind;
  readonly thresholds: readonly Threshold[];
}

export interface LoadOutcome {
  readonly summary: Summary;
  readonly thresholds: readonly ThresholdOutcome[];
  /** True when a --fail-on condition held. */
  readonly failed: boolean;
}

function buildWorkload(config: LoadConfig): { workload: Workload; description: string } {
  const w = config.workload;
  if (w.kind === 'mix') {
    const dist = w.distribution.kind === 'zipf' ? `zipf ${w.distribution.exponent}` : 'uniform';
    return {
      workload: new ItemsMix(w),
      description: `items mix ${w.weights.map(([op, weight]) => `${op}=${weight}`).join(',')} over ${w.keys} keys (${dist}), ${w.valueBytes}-byte values, seed ${w.seed}`,
    };
  }
  const body = w.body === undefined ? undefined : Buffer.from(w.body);
  const headers = Object.keys(w.headers).length === 0 ? undefined : { ...w.headers };
  return {
    workload: new SingleRequest({ method: w.method, path: w.path, headers, body }),
    description: `${w.method} ${w.path}${body === undefined ? '' : ` with a ${body.length}-byte body`}`,
  };
}

export async function runLoadTest(
  config: LoadConfig,
  options: { onProgress?: (progress: Progress) => void; signal?: AbortSignal } = {},
): Promise<LoadOutcome> {
  const { workload, description } = buildWorkload(config);
  const result = await runLoad(
    {
      origin: config.origin,
      httpClient: config.httpClient,
      workload,
      connections: config.connections,
      pipelining: config.pipelining,
      durationMs: config.durationMs,
      requests: config.requests,
      ratePerSecond: config.ratePerSecond,
      timeoutMs: config.timeoutMs,
      onProgress: options.onProgress,
    },
    options.signal,
  );
  const summary = summarize(result, {
    target: config.url.href,
    workload: description,
    connections: config.connections,
    pipelining: config.pipelining,
    httpClient: config.httpClient,
  });
  const thresholds = evaluateThresholds(config.thresholds, summary);
  return { summary, thresholds, failed: thresholds.some((t) => t.failed) };
}
