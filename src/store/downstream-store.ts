/**
 * Items kept by another service: GET/PUT {url}/items/{key} over a pooled undici client.
 * Each attempt has its own timeout (504 `Timeout` when it expires); a connection failure, a
 * reset or a 5xx answer is 502 `Downstream`; a 503 is retried up to twice. Whatever happens,
 * the handler's slot gets DownstreamSuccess, DownstreamDuration and, on failure,
 * DownstreamErrorKind and DownstreamError. Each call carries the request's `x-request-id`, so the
 * downstream's wide event has the same RequestId. What went wrong stays in the record and the log
 * (`service:downstream`): the client's message names no address.
 */
import diagnostics from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, Pool } from 'undici';
import { HttpError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { DownstreamErrorKind } from '../metrics.js';
import { classifyNetworkError, errorCode } from '../network-errors.js';
import { msSince } from '../time.js';
import { checkKey, type ItemStore, type StoreContext } from './store.js';

export interface DownstreamStoreOptions {
  readonly url: URL;
  /** Per attempt, from sending the request to the end of the response body. */
  readonly timeoutMs: number;
  /** Larger answers are refused (502) rather than buffered. */
  readonly maxResponseBytes: number;
  readonly logger: Logger;
  /** undici's own events (connects, connect errors) are logged under this target's logger. */
  readonly undiciLogger: Logger;
  /** Retries of a 503 answer. Default 2. */
  readonly retries?: number;
  /** Open connections to the downstream, at most. Default DEFAULT_CONNECTIONS (128). */
  readonly connections?: number;
}

/** Why a downstream call failed, as the wide event records it. */
class DownstreamFailure extends Error {
  readonly kind: DownstreamErrorKind;

  constructor(kind: DownstreamErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const RETRY_BACKOFF_MS = 50;
const DEFAULT_CONNECTIONS = 128;
const PROBE_TIMEOUT_MS = 2000;

function classify(err: unknown): DownstreamFailure {
  if (err instanceof DownstreamFailure) return err;
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const text = code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
  const network = classifyNetworkError(err);
  if (network === 'connect') return new DownstreamFailure('Connect', text);
  if (network === 'reset') return new DownstreamFailure('Reset', text);
  if (code !== undefined && TIMEOUT_CODES.has(code)) return new DownstreamFailure('Timeout', text);
  return new DownstreamFailure('Other', text);
}

async function readText(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      body.destroy();
      throw new DownstreamFailure('Other', `response body larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

export class DownstreamStore implements ItemStore {
  readonly url: URL;
  #pool: Pool;
  #basePath: string;
  #options: DownstreamStoreOptions;
  #retries: number;
  #unsubscribe: () => void;

  constructor(options: DownstreamStoreOptions) {
    this.#options = options;
    this.url = options.url;
    this.#retries = options.retries ?? 2;
    this.#basePath = options.url.pathname.replace(/\/+$/, '');
    // Our own per-attempt timer decides timeouts (a connect that hangs included, so it is a 504
    // Timeout, not a race between two timers); undici's are a loose backstop only.
    const backstopMs = options.timeoutMs * 2;
    this.#pool = new Pool(options.url.origin, {
      connections: options.connections ?? DEFAULT_CONNECTIONS,
      headersTimeout: backstopMs,
      bodyTimeout: backstopMs,
      connect: { timeout: backstopMs },
    });
    this.#unsubscribe = logUndiciEvents(options.undiciLogger);
  }

  async get(key: string, context: StoreContext): Promise<string | undefined> {
    const answer = await this.#call('GET', key, undefined, context, (status) => status === 200 || status === 404);
    return answer.status === 404 ? undefined : answer.text;
  }

  async set(key: string, value: string, context: StoreContext): Promise<void> {
    await this.#call('PUT', key, value, context, (status) => status >= 200 && status < 300);
  }

  /** Startup check of {url}/health. Only warns: the downstream may come up after us. */
  async probe(timeoutMs = PROBE_TIMEOUT_MS): Promise<void> {
    const log = this.#options.logger;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const res = await this.#pool.request({ method: 'GET', path: `${this.#basePath}/health`, signal });
      await res.body.dump();
      if (res.statusCode === 200) log.info({ downstream: this.url.href }, 'downstream health probe passed');
      else log.warn({ downstream: this.url.href, status: res.statusCode }, 'downstream health probe failed');
    } catch (err) {
      log.warn({ downstream: this.url.href, error: classify(err).message }, 'downstream health probe failed');
    }
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    await this.#pool.close();
  }

  async #call(
    method: 'GET' | 'PUT',
    key: string,
    body: string | undefined,
    context: StoreContext,
    expected: (status: number) => boolean,
  ): Promise<Answer> {
    // The route checks keys too; a dot segment must never reach the wire, whoever calls.
    checkKey(key);
    // One path segment whatever the key holds (`/`, `?`, `#`, `%`): encodeURIComponent leaves
    // only unreserved characters and !'()* as they are.
    const path = `${this.#basePath}/items/${encodeURIComponent(key)}`;
    const headers: Record<string, string> =
      body === undefined
        ? { 'x-request-id': context.requestId }
        : { 'x-request-id': context.requestId, 'content-type': 'text/plain; charset=utf-8' };
    const metrics = context.metrics;
    const started = performance.now();
    try {
      for (let attempt = 1; ; attempt++) {
        const answer = await this.#attempt(method, path, body, headers, context.signal);
        if (answer.status === 503 && attempt <= this.#retries) {
          await sleep(RETRY_BACKOFF_MS * attempt, undefined, { signal: context.signal });
          continue;
        }
        if (!expected(answer.status)) {
          const tries = attempt > 1 ? ` after ${attempt} attempts` : '';
          throw new DownstreamFailure('Status', `unexpected status ${answer.status}${tries}`);
        }
        metrics.DownstreamSuccess = true;
        return answer;
      }
    } catch (err) {
      const failure = context.signal.aborted ? new DownstreamFailure('Aborted', 'request aborted') : classify(err);
      metrics.DownstreamSuccess = false;
      metrics.DownstreamErrorKind = failure.kind;
      metrics.DownstreamError = failure.message;
      const requestId = context.requestId;
      this.#options.logger.warn(
        { requestId, kind: failure.kind, error: failure.message, path },
        'downstream call failed',
      );
      // The detail (an internal address, a port) is for operators: the record and the log have it.
      throw failure.kind === 'Timeout'
        ? new HttpError(504, 'SVC_ERR_DOWNSTREAM_TIMEOUT', `downstream timed out (request id ${requestId})`, err)
        : new HttpError(502, 'SVC_ERR_DOWNSTREAM', `downstream failed (request id ${requestId})`, err);
    } finally {
      metrics.DownstreamDuration = msSince(started);
    }
  }

  async #attempt(
    method: string,
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Answer> {
    const timeoutMs = this.#options.timeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await this.#pool.request({
        method,
        path,
        body,
        headers,
        signal: controller.signal,
      });
      const text = await readText(res.body, this.#options.maxResponseBytes);
      return { status: res.statusCode, text };
    } catch (err) {
      if (timedOut) throw new DownstreamFailure('Timeout', `no answer within ${timeoutMs} ms`);
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }
}

/** undici publishes connection events on diagnostics channels; log them under their own target. */
function logUndiciEvents(logger: Logger): () => void {
  const subscriptions: Array<[string, (message: unknown) => void]> = [];
  const describe = (message: unknown): string => {
    const connectParams = (message as { connectParams?: { host?: string } }).connectParams;
    return connectParams?.host ?? 'downstream';
  };
  if (logger.isLevelEnabled('debug')) {
    subscriptions.push(['undici:client:connected', (m) => logger.debug({ host: describe(m) }, 'connected')]);
  }
  if (logger.isLevelEnabled('warn')) {
    subscriptions.push([
      'undici:client:connectError',
      (m) => {
        const error = (m as { error?: Error }).error;
        logger.warn({ host: describe(m), code: errorCode(error), error: error?.message }, 'connect failed');
      },
    ]);
  }
  for (const [name, listener] of subscriptions) diagnostics.subscribe(name, listener);
  return () => {
    for (const [name, listener] of subscriptions) diagnostics.unsubscribe(name, listener);
  };
}
