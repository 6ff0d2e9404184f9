/** `service run`'s options that shape metric output: format, CloudWatch EMF, the agent endpoint, sampling. */
import { EMITTED_RECORDS } from '../metrics.js';
import {
  CLOUDWATCH_AGENT_PORT,
  type EmfConfig,
  METRICS_FORMATS,
  type MetricsEndpoint,
  type MetricsFormat,
} from '../metrics-output.js';
import { EMF_LIMITS } from '../record/index.js';
import { type RawRunOptions, RUN_OPTIONS } from './options.js';
import { invalid } from './parsers.js';

/** The property every record carries (see src/telemetry.ts); it can be a dimension. */
export const SERVICE_NAME_PROPERTY = 'service_name';

const NAMESPACE = /^[0-9A-Za-z.\-_/#: ]{1,255}$/;
const LOG_GROUP = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const FRACTION = /^(?:0?\.\d+|0|1|1\.0*)$/;
/** Below this a kept record would stand for over a million: its Counts would lose meaning. */
const MIN_SAMPLE_RATE = 0.000001;

export function parseMetricsFormat(text: string): MetricsFormat {
  const format = text.trim().toLowerCase();
  if (!(METRICS_FORMATS as readonly string[]).includes(format)) {
    throw invalid(RUN_OPTIONS.metricsFormat, text, `expected one of ${METRICS_FORMATS.join(', ')}`);
  }
  return format as MetricsFormat;
}

/**
 * Names of the records the service emits, for checking dimension names: properties every record
 * that has them always carries (usable as dimensions), properties only some records carry, metrics.
 */
function knownFields(): { always: Set<string>; sometimes: Set<string>; metrics: Set<string> } {
  const always = new Set<string>([SERVICE_NAME_PROPERTY]);
  const sometimes = new Set<string>();
  const metrics = new Set<string>();
  for (const type of EMITTED_RECORDS) {
    for (const { name, spec } of type.layout) {
      if (spec.kind !== 'property') metrics.add(name);
      else (spec.optional ? sometimes : always).add(name);
    }
  }
  return { always, sometimes, metrics };
}

/** `Operation;Operation,StatusCode` → [["Operation"], ["Operation", "StatusCode"]]; an empty set is allowed. */
export function parseDimensionSets(text: string): string[][] {
  const { always, sometimes, metrics } = knownFields();
  const allowed = [...always].sort().join(', ');
  const sets = text.split(';').map((part) => (part.trim() === '' ? [] : part.split(',').map((key) => key.trim())));
  for (const set of sets) {
    if (set.length > EMF_LIMITS.dimensionKeysPerSet) {
      throw invalid(
        RUN_OPTIONS.emfDimensions,
        text,
        `expected at most ${EMF_LIMITS.dimensionKeysPerSet} keys per set, found ${set.length}`,
      );
    }
    const seen = new Set<string>();
    for (const key of set) {
      if (key === '')
        throw invalid(
          RUN_OPTIONS.emfDimensions,
          text,
          'expected dimension names between the commas, found an empty one',
        );
      if (seen.has(key))
        throw invalid(RUN_OPTIONS.emfDimensions, text, `expected each key once per set, found ${key} twice`);
      seen.add(key);
      if (metrics.has(key)) {
        throw invalid(
          RUN_OPTIONS.emfDimensions,
          text,
          `${key} is a metric; dimensions must be properties (${allowed})`,
        );
      }
      if (sometimes.has(key)) {
        // A record without the key could not be extracted, so strict mode would drop it.
        throw invalid(
          RUN_OPTIONS.emfDimensions,
          text,
          `${key} is only set on some records; dimensions must always be present (${allowed})`,
        );
      }
      if (!always.has(key)) {
        throw invalid(RUN_OPTIONS.emfDimensions, text, `unknown dimension ${key}; expected one of ${allowed}`);
      }
    }
  }
  return sets;
}

export function parseEmfConfig(
  raw: RawRunOptions,
  format: MetricsFormat,
  serviceName: string,
  nodeEnv: string | undefined,
): EmfConfig | undefined {
  if (format !== 'emf') {
    for (const name of ['emfNamespace', 'emfDimensions', 'emfLogGroup', 'emfValidation'] as const) {
      const text = raw[name];
      if (text !== undefined) throw invalid(RUN_OPTIONS[name], text, 'only applies with --metrics-format emf');
    }
    return undefined;
  }
  const namespace = raw.emfNamespace ?? serviceName;
  if (!NAMESPACE.test(namespace) || namespace.trim() === '' || namespace.startsWith('AWS/')) {
    throw invalid(
      RUN_OPTIONS.emfNamespace,
      namespace,
      'expected 1 to 255 characters from A-Z a-z 0-9 . - _ / # : and space, not starting with AWS/',
    );
  }
  const logGroupName = raw.emfLogGroup;
  if (logGroupName !== undefined && !LOG_GROUP.test(logGroupName)) {
    throw invalid(RUN_OPTIONS.emfLogGroup, logGroupName, 'expected 1 to 512 characters from A-Z a-z 0-9 . - _ / #');
  }
  const validationText = raw.emfValidation ?? (nodeEnv === 'production' ? 'off' : 'strict');
  if (validationText !== 'strict' && validationText !== 'off') {
    throw invalid(RUN_OPTIONS.emfValidation, validationText, 'expected strict or off');
  }
  return Object.freeze({
    namespace,
    dimensions: raw.emfDimensions === undefined ? [] : parseDimensionSets(raw.emfDimensions),
    logGroupName,
    validation: validationText,
  });
}

export function parseMetricsEndpoint(text: string): MetricsEndpoint {
  const expected = `expected tcp://host:port or udp://host:port (port ${CLOUDWATCH_AGENT_PORT} if omitted), e.g. tcp://127.0.0.1:25888`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(RUN_OPTIONS.metricsEndpoint, text, expected);
  }
  const protocol = url.protocol.slice(0, -1);
  if ((protocol !== 'tcp' && protocol !== 'udp') || url.hostname === '')
    throw invalid(RUN_OPTIONS.metricsEndpoint, text, expected);
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '' || url.username !== '') {
    throw invalid(RUN_OPTIONS.metricsEndpoint, text, expected);
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return Object.freeze({ protocol, host, port: url.port === '' ? CLOUDWATCH_AGENT_PORT : Number(url.port) });
}

export function parseSampleRate(text: string): number {
  const rate = FRACTION.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(rate >= MIN_SAMPLE_RATE && rate <= 1)) {
    throw invalid(RUN_OPTIONS.metricsSampleRate, text, 'expected a fraction from 0.000001 to 1, e.g. 0.1');
  }
  return rate;
}
