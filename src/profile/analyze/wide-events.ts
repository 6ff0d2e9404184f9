/**
 * The wide events of metrics.log, flattened to one level (`RequestId`, `Operation`, `Duration`...)
 * whichever format wrote them: the JSON formatter's `{ metrics: { Duration: { value } }, properties }`
 * or EMF's flat keys. A record is joined to the trace's request by `RequestId` (the trace's
 * requestOpen carries the same id).
 */

export type WideEvent = Record<string, unknown>;

/** Flattens one metrics.log record; undefined when it is not a request's wide event. */
export function flattenWideEvent(record: Record<string, unknown>): WideEvent | undefined {
  const flat: WideEvent = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === '_aws') continue;
    if (key === 'metrics' && isObject(value)) {
      for (const [name, metric] of Object.entries(value)) flat[name] = metricValue(metric);
    } else if (key === 'properties' && isObject(value)) {
      for (const [name, property] of Object.entries(value)) flat[name] = property;
    } else flat[key] = value;
  }
  return typeof flat.RequestId === 'string' ? flat : undefined;
}

function metricValue(metric: unknown): unknown {
  if (!isObject(metric)) return metric;
  if ('value' in metric) return metric.value;
  if (Array.isArray(metric.values)) return metric.values[0];
  return metric;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
