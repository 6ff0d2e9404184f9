/** The server's JSON API, as the page uses it. */
import type { Catalog } from '../catalog-types.js';

export type { CaptureEntry, Catalog, TraceEntry } from '../catalog-types.js';

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

export function catalog(): Promise<Catalog> {
  return getJson<Catalog>('/api/catalog');
}

/** A request's wide event from the metrics.log the trace is joined with (null: not found). */
export async function wideEvent(
  metrics: string,
  requestId: string,
  wallMs: number,
): Promise<Record<string, unknown> | null> {
  const query = new URLSearchParams({ metrics, requestId, wallMs: String(Math.round(wallMs)) });
  const answer = await getJson<{ wideEvent: Record<string, unknown> | null }>(`/api/wide-event?${query}`);
  return answer.wideEvent;
}

/** speedscope, shipped offline, opening a profile served by us. */
export function speedscopeUrl(fileUrl: string, title: string): string {
  return `/speedscope/index.html#profileURL=${encodeURIComponent(fileUrl)}&title=${encodeURIComponent(title)}`;
}
