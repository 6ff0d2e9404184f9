/**
 * An EMF checker written from CloudWatch's published specification (the "Embedded metric format
 * specification" page and its JSON schema), independent of src/record/format/emf.ts. It returns
 * every problem it finds in one line; an empty list means CloudWatch would accept the event.
 */

const UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);
const MAX_EVENT_BYTES = 1024 * 1024;
const MAX_METRICS = 100;
const MAX_VALUES = 100;
const MAX_DIMENSION_KEYS = 30;
const MAX_NAME = 255;
/** CloudWatch's accepted magnitudes (zero aside). */
const MAX_VALUE = 1.174271e108;
const MIN_VALUE = 8.51592e-109;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Finds numbers written with an exponent, outside strings. */
function exponentNumbers(text: string): string[] {
  const found: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    const match = /^-?\d+(?:\.\d+)?[eE][+-]?\d+/.exec(text.slice(i, i + 40));
    if (match !== null && /[-\d]/.test(c ?? '') && !/[\w.]/.test(text[i - 1] ?? '')) found.push(match[0]);
    i++;
  }
  return found;
}

function checkValue(name: string, v: unknown, problems: string[]): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    problems.push(`metric ${name}: ${JSON.stringify(v)} is not a finite number`);
    return;
  }
  const abs = Math.abs(v);
  if (abs !== 0 && (abs > MAX_VALUE || abs < MIN_VALUE))
    problems.push(`metric ${name}: ${v} is outside CloudWatch's range`);
}

function checkMetricTarget(name: string, target: unknown, problems: string[]): void {
  if (Array.isArray(target)) {
    if (target.length > MAX_VALUES) problems.push(`metric ${name}: ${target.length} values (max ${MAX_VALUES})`);
    for (const v of target) checkValue(name, v, problems);
    return;
  }
  if (isObject(target)) {
    const { Values, Counts, ...rest } = target;
    if (Object.keys(rest).length > 0)
      problems.push(`metric ${name}: unexpected members ${Object.keys(rest).join(', ')}`);
    if (!Array.isArray(Values) || !Array.isArray(Counts) || Values.length !== Counts.length || Values.length === 0) {
      problems.push(`metric ${name}: Values and Counts must be non-empty arrays of one length`);
      return;
    }
    if (Values.length > MAX_VALUES) problems.push(`metric ${name}: ${Values.length} values (max ${MAX_VALUES})`);
    for (const v of Values) checkValue(name, v, problems);
    for (const c of Counts)
      if (typeof c !== 'number' || !(c > 0)) problems.push(`metric ${name}: count ${c} must be positive`);
    return;
  }
  checkValue(name, target, problems);
}

export function emfProblems(line: string): string[] {
  const problems: string[] = [];
  if (Buffer.byteLength(line) > MAX_EVENT_BYTES)
    problems.push(`event is ${Buffer.byteLength(line)} bytes (max ${MAX_EVENT_BYTES})`);
  for (const n of exponentNumbers(line)) problems.push(`number in exponent form: ${n}`);
  let root: unknown;
  try {
    root = JSON.parse(line);
  } catch (err) {
    return [...problems, `not JSON: ${(err as Error).message}`];
  }
  if (!isObject(root)) return [...problems, 'root is not an object'];
  const rootKeys = Object.keys(root);
  if (rootKeys[0] !== '_aws') problems.push('_aws is not the first member');
  const aws = root._aws;
  if (!isObject(aws)) return [...problems, '_aws is missing or not an object'];
  const awsKeys = Object.keys(aws);
  const expectedOrder = ['CloudWatchMetrics', ...(aws.LogGroupName === undefined ? [] : ['LogGroupName']), 'Timestamp'];
  if (awsKeys.join() !== expectedOrder.join())
    problems.push(`_aws members ${awsKeys.join(', ')}; expected ${expectedOrder.join(', ')}`);
  if (!Number.isInteger(aws.Timestamp) || (aws.Timestamp as number) < 0)
    problems.push('Timestamp is not epoch milliseconds');
  if (aws.LogGroupName !== undefined && (typeof aws.LogGroupName !== 'string' || aws.LogGroupName === '')) {
    problems.push('LogGroupName is not a non-empty string');
  }
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) {
    return [...problems, 'CloudWatchMetrics is not a non-empty array'];
  }
  const metricNames = new Set<string>();
  for (const directive of aws.CloudWatchMetrics) {
    if (!isObject(directive)) {
      problems.push('a MetricDirective is not an object');
      continue;
    }
    const extra = Object.keys(directive).filter((k) => !['Namespace', 'Dimensions', 'Metrics'].includes(k));
    if (extra.length > 0) problems.push(`MetricDirective has unexpected members ${extra.join(', ')}`);
    const ns = directive.Namespace;
    if (typeof ns !== 'string' || ns.length < 1 || ns.length > MAX_NAME || ns.startsWith('AWS/'))
      problems.push(`bad Namespace ${JSON.stringify(ns)}`);
    const dimensions = directive.Dimensions;
    if (!Array.isArray(dimensions) || dimensions.length === 0) problems.push('Dimensions is not a non-empty array');
    for (const set of Array.isArray(dimensions) ? dimensions : []) {
      if (!Array.isArray(set)) {
        problems.push('a DimensionSet is not an array');
        continue;
      }
      if (set.length > MAX_DIMENSION_KEYS)
        problems.push(`a DimensionSet has ${set.length} keys (max ${MAX_DIMENSION_KEYS})`);
      for (const key of set) {
        if (typeof key !== 'string' || key.length < 1 || key.length > MAX_NAME) {
          problems.push(`bad dimension key ${JSON.stringify(key)}`);
          continue;
        }
        const target = root[key];
        if (typeof target !== 'string') problems.push(`dimension ${key} has no string target member`);
        else if (target.trim() === '' || target.length > 1024)
          problems.push(`dimension ${key} value is blank or too long`);
      }
    }
    const metrics = directive.Metrics;
    if (!Array.isArray(metrics)) {
      problems.push('Metrics is not an array');
      continue;
    }
    if (metrics.length > MAX_METRICS) problems.push(`${metrics.length} metrics in one directive (max ${MAX_METRICS})`);
    for (const definition of metrics) {
      if (!isObject(definition)) {
        problems.push('a MetricDefinition is not an object');
        continue;
      }
      const { Name, Unit, StorageResolution, ...rest } = definition;
      if (Object.keys(rest).length > 0)
        problems.push(`MetricDefinition has unexpected members ${Object.keys(rest).join(', ')}`);
      if (typeof Name !== 'string' || Name.length < 1 || Name.length > MAX_NAME || Name === '_aws') {
        problems.push(`bad metric Name ${JSON.stringify(Name)}`);
        continue;
      }
      if (metricNames.has(Name)) problems.push(`metric ${Name} defined twice`);
      metricNames.add(Name);
      if (Unit !== undefined && (typeof Unit !== 'string' || !UNITS.has(Unit)))
        problems.push(`metric ${Name}: bad Unit ${JSON.stringify(Unit)}`);
      if (StorageResolution !== undefined && StorageResolution !== 1 && StorageResolution !== 60) {
        problems.push(`metric ${Name}: StorageResolution must be 1 or 60`);
      }
      if (!(Name in root)) problems.push(`metric ${Name} has no target member`);
      else checkMetricTarget(Name, root[Name], problems);
      for (const set of Array.isArray(dimensions) ? dimensions : []) {
        if (Array.isArray(set) && set.includes(Name)) problems.push(`${Name} is both a metric and a dimension`);
      }
    }
  }
  // Key order: metric values first, then everything else.
  let seenProperty = false;
  for (const key of rootKeys.slice(1)) {
    if (metricNames.has(key)) {
      if (seenProperty) problems.push(`metric ${key} comes after a property`);
    } else seenProperty = true;
  }
  return problems;
}

/** Checks every line of an entry; throws with all problems found. */
export function assertValidEmf(entry: string): void {
  const lines = entry.split('\n').filter((l) => l !== '');
  const problems = lines.flatMap((line, i) => emfProblems(line).map((p) => `line ${i + 1}: ${p}`));
  if (problems.length > 0) throw new Error(`invalid EMF:\n${problems.join('\n')}\n${entry.slice(0, 500)}`);
}
