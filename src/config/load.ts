/** `service load` options: flags (with LOAD_* environment variables) → one validated, frozen LoadConfig. */
import { HTTP_CLIENT_KINDS, type HttpClientKind } from '../load/http-client.js';
import { FIELD_VALUE } from '../load/http1/request-encoder.js';
import type { LoadConfig, LoadWorkload } from '../load/load-test.js';
import type { Threshold } from '../load/thresholds.js';
import { parseThresholds } from '../load/thresholds.js';
import { type KeyDistribution, MIX_OPS, type MixOp } from '../load/workload.js';
import { invalidArgument, invalidFlag, option, optionText, type RawOptions } from './option-spec.js';
import { duration, integer, invalid as invalidValue } from './parsers.js';

export const DEFAULT_LOAD_URL = 'http://127.0.0.1:3000';

export const LOAD_OPTIONS = Object.freeze({
  connections: option('connections', 'LOAD_CONNECTIONS', '50', '<n>', 'Connections to open.', 'c'),
  pipelining: option('pipelining', 'LOAD_PIPELINING', '1', '<n>', 'Requests in flight per connection.', 'p'),
  duration: option(
    'duration',
    'LOAD_DURATION',
    undefined,
    '<time>',
    'How long to send, e.g. 10s, 500ms, 2m [default: 10s unless --requests is given].',
    'd',
  ),
  requests: option('requests', 'LOAD_REQUESTS', undefined, '<n>', 'How many requests to send in all.', 'n'),
  rate: option(
    'rate',
    'LOAD_RATE',
    undefined,
    '<per-second>',
    'Open model: send this many requests a second on a fixed schedule, timing each from its intended send time. Needs --duration or --requests.',
    'r',
  ),
  timeout: option(
    'timeout',
    'LOAD_TIMEOUT',
    '10s',
    '<time>',
    'Give up on a request after this long (counted as a timeout).',
    't',
  ),
  method: option('method', 'LOAD_METHOD', 'GET', '<method>', 'HTTP method, for a single URL.', 'm'),
  body: option('body', 'LOAD_BODY', undefined, '<text>', 'Request body, for a single URL.', 'b'),
  mix: option(
    'mix',
    'LOAD_MIX',
    undefined,
    '<ops>',
    "Drive this service's items API instead of one URL: op weights such as get=9,put=1 (ops: get, put, echo).",
  ),
  keys: option('keys', 'LOAD_KEYS', '10000', '<n>', 'With --mix: distinct item keys.'),
  valueSize: option('value-size', 'LOAD_VALUE_SIZE', '256', '<bytes>', 'With --mix: bytes per PUT value.'),
  keyDist: option(
    'key-dist',
    'LOAD_KEY_DIST',
    'uniform',
    '<dist>',
    'With --mix: uniform, zipf, or zipf:<exponent> (zipf means zipf:1).',
  ),
  seed: option('seed', 'LOAD_SEED', undefined, '<n>', 'With --mix: seed the key sequence, for repeatable runs.'),
  httpClient: option(
    'http-client',
    'LOAD_HTTP_CLIENT',
    'auto',
    '<client>',
    "builtin: this package's HTTP/1.1 client over node:net (http:// only, the lightest on CPU); undici: undici's Client (http:// and https://); auto: builtin for http://, undici for https://.",
  ),
  failOn: option(
    'fail-on',
    'LOAD_FAIL_ON',
    undefined,
    '<conditions>',
    'Exit 1 when any condition holds, e.g. "p99>200ms,errors>1%" (p50 p90 p99 p99.9 max mean in ms/s/us; errors non2xx as a count or %; rps).',
  ),
});

export type LoadOptionName = keyof typeof LOAD_OPTIONS;
export type RawLoadOptions = RawOptions<LoadOptionName>;

const DEFAULT_DURATION_MS = 10_000;
/** Requests for every key are built up front (two per key): keep that within memory. */
const MAX_KEYS = 1_000_000;
const METHOD = /^[A-Z]+$/;
const HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(.*)$/;

function invalid(name: LoadOptionName, value: string, expected: string) {
  return invalidValue(LOAD_OPTIONS[name], value, expected);
}

function wholeNumber(name: LoadOptionName, text: string, min: number, max: number): number {
  return integer(LOAD_OPTIONS[name], text, min, max);
}

function parseUrl(text: string): URL {
  const expected = 'expected an absolute http:// or https:// URL, e.g. http://127.0.0.1:3000/health';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidArgument('URL', text, expected);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw invalidArgument('URL', text, expected);
  }
  return url;
}

function parseMix(text: string): Array<[MixOp, number]> {
  const expected = `expected op=weight pairs such as get=9,put=1, with ops from ${MIX_OPS.join(', ')}`;
  const weights: Array<[MixOp, number]> = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const match = /^([a-z]+)=(\d+(?:\.\d+)?)$/.exec(part);
    if (match === null) throw invalid('mix', text, expected);
    const op = match[1] as MixOp;
    if (!MIX_OPS.includes(op)) throw invalid('mix', text, `unknown op ${JSON.stringify(match[1])}; ${expected}`);
    weights.push([op, Number(match[2])]);
  }
  if (weights.length === 0 || weights.every(([, w]) => w === 0)) throw invalid('mix', text, expected);
  return weights.filter(([, w]) => w > 0);
}

function parseKeyDistribution(text: string): KeyDistribution {
  const trimmed = text.trim();
  if (trimmed === 'uniform') return { kind: 'uniform' };
  const match = /^zipf(?::(\d+(?:\.\d+)?))?$/.exec(trimmed);
  const exponent = match === null ? Number.NaN : Number(match[1] ?? '1');
  if (!(exponent > 0 && exponent <= 10)) {
    throw invalid(
      'keyDist',
      text,
      'expected uniform, zipf, or zipf:<exponent> with an exponent above 0 and at most 10',
    );
  }
  return { kind: 'zipf', exponent };
}

function parseHeaders(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const match = HEADER.exec(line);
    if (match === null) {
      throw invalidFlag('header', line, 'expected "Name: value"');
    }
    const headerValue = match[2] ?? '';
    // Sent as latin-1 octets: a character above U+00FF (or a control character) cannot be.
    if (!FIELD_VALUE.test(headerValue)) {
      throw invalidFlag('header', line, 'expected a value of printable latin-1 characters');
    }
    headers[(match[1] ?? '').toLowerCase()] = headerValue;
  }
  return headers;
}

function parseHttpClient(text: string, url: URL): HttpClientKind {
  const https = url.protocol === 'https:';
  const name = text.trim();
  if (name === 'auto') return https ? 'undici' : 'builtin';
  if (!(HTTP_CLIENT_KINDS as readonly string[]).includes(name)) {
    throw invalid('httpClient', text, `expected one of auto, ${HTTP_CLIENT_KINDS.join(', ')}`);
  }
  if (name === 'builtin' && https) {
    throw invalid('httpClient', text, 'the builtin client speaks plain http://; use undici (or auto) for https://');
  }
  return name as HttpClientKind;
}

/** Validates everything `service load` is given; throws InvalidOptionError on the first bad value. */
export function loadLoadConfig(
  raw: RawLoadOptions,
  urlText: string | undefined,
  headerLines: readonly string[] = [],
): LoadConfig {
  const value = optionText(LOAD_OPTIONS, raw);
  const url = parseUrl(urlText ?? DEFAULT_LOAD_URL);

  let ratePerSecond: number | undefined;
  if (raw.rate !== undefined) {
    ratePerSecond = Number(raw.rate.trim());
    if (!/^\d+(?:\.\d+)?$/.test(raw.rate.trim()) || !(ratePerSecond > 0) || ratePerSecond > 1_000_000) {
      throw invalid('rate', raw.rate, 'expected requests a second, a number above 0 and at most 1000000');
    }
  }
  const requests =
    raw.requests === undefined ? undefined : wholeNumber('requests', raw.requests, 1, Number.MAX_SAFE_INTEGER);
  let durationMs = raw.duration === undefined ? undefined : duration(LOAD_OPTIONS.duration, raw.duration);
  if (ratePerSecond !== undefined && durationMs === undefined && requests === undefined) {
    throw invalid('rate', raw.rate ?? '', 'an open-model run needs an end: add --duration (e.g. 30s) or --requests');
  }
  if (durationMs === undefined && requests === undefined) durationMs = DEFAULT_DURATION_MS;
  if (ratePerSecond !== undefined && durationMs !== undefined && Math.floor((durationMs * ratePerSecond) / 1000) < 1) {
    throw invalid('rate', raw.rate ?? '', `schedules no request in ${durationMs} ms; raise the rate or the duration`);
  }

  let workload: LoadWorkload;
  if (raw.mix !== undefined) {
    for (const name of ['method', 'body'] as const) {
      const text = raw[name];
      if (text !== undefined) throw invalid(name, text, 'does not apply with --mix, which makes its own requests');
    }
    if (headerLines.length > 0) throw invalid('mix', raw.mix, 'takes no --header: it makes its own requests');
    workload = {
      kind: 'mix',
      basePath: url.pathname.replace(/\/+$/, ''),
      weights: parseMix(raw.mix),
      keys: wholeNumber('keys', value('keys') ?? '', 1, MAX_KEYS),
      valueBytes: wholeNumber('valueSize', value('valueSize') ?? '', 0, 16 * 1024 * 1024),
      distribution: parseKeyDistribution(value('keyDist') ?? ''),
      seed: raw.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : wholeNumber('seed', raw.seed, 0, 2 ** 31),
    };
  } else {
    const method = (value('method') ?? '').trim().toUpperCase();
    if (!METHOD.test(method))
      throw invalid('method', value('method') ?? '', 'expected an HTTP method such as GET, PUT or POST');
    workload = {
      kind: 'single',
      method,
      path: `${url.pathname}${url.search}`,
      headers: parseHeaders(headerLines),
      body: raw.body,
    };
  }

  let thresholds: Threshold[] = [];
  if (raw.failOn !== undefined) {
    try {
      thresholds = parseThresholds(raw.failOn);
    } catch (err) {
      throw invalid('failOn', raw.failOn, (err as Error).message);
    }
  }

  return Object.freeze({
    url,
    origin: url.origin,
    httpClient: parseHttpClient(value('httpClient') ?? '', url),
    workload,
    connections: wholeNumber('connections', value('connections') ?? '', 1, 10_000),
    pipelining: wholeNumber('pipelining', value('pipelining') ?? '', 1, 1_000),
    durationMs,
    requests,
    ratePerSecond,
    timeoutMs: duration(LOAD_OPTIONS.timeout, value('timeout') ?? ''),
    thresholds,
  });
}
