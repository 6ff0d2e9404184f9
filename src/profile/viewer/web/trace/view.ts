/**
 * One recorder trace: the timeline, counters, navigator, details, request view, range flamegraph and
 * search, wired to two workers and to the URL (deep links).
 */
import type { AnalysisReport, RequestBreakdown } from '../../../analyze/types.js';
import { type UrlState, writeUrlState } from '../../url-state.js';
import { catalog, getJson, type TraceEntry, wideEvent } from '../api.js';
import { duration, h } from '../dom.js';
import { Counters } from './counters.js';
import { Flamegraph } from './flamegraph.js';
import { drawMinimap } from './minimap.js';
import type { OverviewData, PointOfInterest, RequestInfo, SegmentRef, TraceInfo, WindowData } from './protocol.js';
import { renderRequest } from './request-view.js';
import { TraceWorker } from './rpc.js';
import { type Hit, stallColour, Timeline, type View } from './timeline.js';

/** Wider views are drawn from the one-second overview, not decoded event by event. */
const MAX_DETAIL_SPAN_MS = 120_000;
const FIRST_SPAN_MS = 10_000;

export interface ViewerStats {
  firstViewMs: number | undefined;
  /** When the segments' headers were in (page clock). */
  openedMs?: number;
  windowLoads: { fromMs: number; toMs: number; events: number; decodeMs: number; totalMs: number }[];
  overviewDone: boolean;
  /** Requests in the overview's per-second counts (those only counted included), once it is done. */
  overviewRequests: number;
  frameTimes: number[];
  points: number;
  analysis: boolean;
}

declare global {
  interface Window {
    __viewer?: ViewerStats;
  }
}

/** A wide event as name/value rows: properties and metrics of the json format flattened, EMF as it is. */
function wideEventRows(record: Record<string, unknown>): [string, unknown][] {
  const rows: [string, unknown][] = [];
  for (const [key, value] of Object.entries(record)) {
    if (key === '_aws') continue;
    if (key === 'properties' && typeof value === 'object' && value !== null) rows.push(...Object.entries(value));
    else if (key === 'metrics' && typeof value === 'object' && value !== null) {
      for (const [name, metric] of Object.entries(value as Record<string, { value?: unknown; unit?: string }>))
        rows.push([
          name,
          metric !== null && typeof metric === 'object' && 'value' in metric
            ? `${metric.value}${metric.unit ? ` ${metric.unit}` : ''}`
            : metric,
        ]);
    } else rows.push([key, value]);
  }
  return rows;
}

function findTrace(entries: { traces: readonly TraceEntry[] }[], id: string): TraceEntry | undefined {
  for (const group of entries) for (const trace of group.traces) if (trace.id === id) return trace;
  return undefined;
}

export async function openTrace(root: HTMLElement, state: UrlState): Promise<void> {
  const stats: ViewerStats = {
    firstViewMs: undefined,
    windowLoads: [],
    overviewDone: false,
    overviewRequests: 0,
    frameTimes: [],
    points: 0,
    analysis: false,
  };
  window.__viewer = stats;
  const data = await catalog();
  const trace = findTrace([data, ...data.captures], state.trace ?? '');
  if (trace === undefined) throw new Error(`no trace ${state.trace} under the served directories`);
  document.title = `${trace.service} ${trace.pid ?? ''} · trace`;
  const segments: SegmentRef[] = trace.segments.map((s) => ({
    url: s.url,
    name: s.name,
    index: s.index,
    bytes: s.bytes,
  }));

  const status = h('span', { id: 'status', class: 'status' }, 'opening…');
  const search = h('input', { id: 'search', type: 'search', placeholder: 'request id, route or function  ( / )' });
  const copy = h('button', { id: 'copy-link', type: 'button' }, 'copy link');
  const minimap = h('canvas', { id: 'minimap' });
  const canvas = h('canvas', { id: 'timeline', tabindex: 0 });
  const counterRoot = h('div', { id: 'counters' });
  const flameHolder = h(
    'section',
    { id: 'flamegraph', class: 'panel' },
    h('h3', {}, 'Flamegraph of the selected range (shift-drag on the timeline)'),
  );
  const navigator = h('ol', { id: 'navigator' });
  const navTitle = h('span', { id: 'navigator-source', class: 'dim' }, '(overview)');
  const details = h(
    'section',
    { id: 'details', class: 'panel' },
    h('p', { class: 'dim' }, 'Click a stall, a GC pause or a request.'),
  );
  const results = h('ol', { id: 'search-results' });
  root.replaceChildren(
    h(
      'header',
      { class: 'trace-header' },
      h('a', { href: '/', class: 'back' }, '← all'),
      h(
        'h1',
        {},
        `${trace.service} `,
        h(
          'span',
          { class: 'dim' },
          `pid ${trace.pid ?? '?'} · ${trace.startedAt ?? ''} · ${trace.segments.length} segment(s)`,
        ),
      ),
      search,
      copy,
      status,
    ),
    h(
      'div',
      { class: 'trace-main' },
      h('div', { class: 'trace-left' }, minimap, canvas, counterRoot, flameHolder),
      h(
        'aside',
        { class: 'trace-right' },
        h(
          'section',
          { class: 'panel' },
          h('h3', {}, 'Worst first ', h('span', { class: 'dim' }, 'n / p '), navTitle),
          navigator,
        ),
        details,
        h('section', { class: 'panel' }, h('h3', {}, 'Search results'), results),
      ),
    ),
    h(
      'footer',
      { class: 'keys' },
      'wheel: zoom · drag: pan · shift-drag: range → flamegraph · ←/→ pan · +/− zoom · 0 whole trace · n/p next/previous finding · / search · Esc clear',
    ),
  );

  const windowWorker = new TraceWorker();
  const overviewWorker = new TraceWorker();
  const info: TraceInfo = (await windowWorker.call<'open'>({ type: 'open', trace: trace.id, segments })).info;
  stats.openedMs = performance.now();
  status.textContent = info.recording;
  let overview: OverviewData | undefined;
  const startMs = info.startMs;
  const guessEnd = (info.segmentStartMs[info.segmentStartMs.length - 1] ?? startMs) + 60_000;
  const firstView: View =
    state.from !== undefined && state.to !== undefined && state.to > state.from
      ? { fromMs: state.from, toMs: state.to }
      : { fromMs: startMs, toMs: startMs + FIRST_SPAN_MS };
  const explicitView = state.from !== undefined;

  const flame = new Flamegraph(flameHolder);
  let points: PointOfInterest[] = [];
  let current = -1;
  /** Findings of the analysis replace the overview's points once it is ready. */
  let analysed = false;
  let analysisFailed: string | undefined;
  let selection: string | undefined = state.sel;
  let range =
    state.rfrom !== undefined && state.rto !== undefined ? { fromMs: state.rfrom, toMs: state.rto } : undefined;
  let query = state.q;

  let urlTimer: ReturnType<typeof setTimeout> | undefined;
  const saveUrl = () => {
    clearTimeout(urlTimer);
    urlTimer = setTimeout(() => {
      const v = timeline.view;
      history.replaceState(
        null,
        '',
        writeUrlState({
          trace: trace.id,
          from: v.fromMs,
          to: v.toMs,
          sel: selection,
          rfrom: range?.fromMs,
          rto: range?.toMs,
          q: query,
        }),
      );
    }, 150);
  };

  // Window loading: one at a time; the latest wish wins.
  let loading: Promise<void> | undefined;
  let wanted: View | undefined;
  const loadWindow = (view: View, quick = false): Promise<void> => {
    wanted = view;
    if (loading !== undefined) return loading.then(() => (wanted === undefined ? undefined : loadWindow(wanted)));
    const target = view;
    wanted = undefined;
    const asked = performance.now();
    loading = windowWorker
      .call<'window'>({ type: 'window', fromMs: target.fromMs, toMs: target.toMs, quick })
      .then(({ data: windowData }) => {
        stats.windowLoads.push({
          fromMs: target.fromMs,
          toMs: target.toMs,
          events: windowData.events,
          decodeMs: windowData.decodeMs,
          totalMs: performance.now() - asked,
        });
        showWindow(windowData);
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  };
  let windowTimer: ReturnType<typeof setTimeout> | undefined;
  const maybeLoad = (view: View) => {
    const span = view.toMs - view.fromMs;
    if (timeline.detailed() || span > MAX_DETAIL_SPAN_MS) return;
    clearTimeout(windowTimer);
    windowTimer = setTimeout(() => {
      loadWindow({ fromMs: view.fromMs - span / 2, toMs: view.toMs + span / 2 }).catch(showError);
    }, 120);
  };

  const timeline: Timeline = new Timeline(
    canvas,
    firstView,
    { fromMs: startMs, toMs: guessEnd },
    {
      onView: (view) => {
        syncCounters();
        counters.setView(view);
        drawMinimap(minimap, overview, timeline.bounds, view);
        maybeLoad(view);
        saveUrl();
      },
      onHit: (hit) => select(hit).catch(showError),
      onRange: (fromMs, toMs) => showRange(fromMs, toMs).catch(showError),
    },
  );
  stats.frameTimes = timeline.frameTimes;
  const counters = new Counters(counterRoot, 128);

  /** Counters show the window's samples when it covers the view, else the whole trace's. */
  let countersFrom: WindowData | OverviewData | undefined;
  function syncCounters(): void {
    const source = timeline.detailed() ? timeline.data : overview;
    if (source === countersFrom) return;
    countersFrom = source;
    counters.setData(timeline.detailed() ? timeline.data : undefined, overview, timeline.view);
  }

  function showError(err: unknown): void {
    status.textContent = `error: ${(err as Error).message}`;
    status.classList.add('error');
  }

  function showWindow(windowData: WindowData): void {
    timeline.setData(windowData);
    syncCounters();
    if (stats.firstViewMs === undefined) {
      // Measured to the frame that shows it.
      requestAnimationFrame(() => {
        // From navigation start: the page, its script, the catalog, the headers and the first window.
        stats.firstViewMs = performance.now();
        performance.mark('viewer:first-view');
      });
    }
    const late = windowData.quick ? ' (late CPU samples still loading)' : '';
    status.textContent = `${windowData.events.toLocaleString()} events in the window${late} (decoded in ${windowData.decodeMs.toFixed(0)} ms) · ${info.recording}`;
  }

  const renderNavigator = () => {
    navigator.replaceChildren(
      ...points.slice(0, 100).map((p, i) =>
        h(
          'li',
          {
            class: `poi ${p.severity}${i === current ? ' current' : ''}`,
            'data-index': i,
            onclick: () => go(i).catch(showError),
          },
          h('span', { class: 'sev' }, p.severity),
          ` ${p.summary}`,
        ),
      ),
    );
    navigator.querySelector('.current')?.scrollIntoView({ block: 'nearest' });
  };

  /** Centres the view on a span of time and waits until its events are loaded. */
  const focusOn = async (fromMs: number, durMs: number) => {
    const span = Math.min(60_000, Math.max(50, durMs * 8));
    const from = fromMs - (span - durMs) / 2;
    timeline.setView({ fromMs: from, toMs: from + span }, false);
    counters.setView(timeline.view);
    drawMinimap(minimap, overview, timeline.bounds, timeline.view);
    saveUrl();
    if (!timeline.detailed()) await loadWindow({ fromMs: from - span / 2, toMs: from + span * 1.5 });
  };

  const go = async (i: number) => {
    const p = points[i];
    if (p === undefined) return;
    current = i;
    // Which finding the details show, once shown (tests and scripts wait on it).
    details.dataset.point = '';
    renderNavigator();
    await focusOn(p.startMs, p.durationMs);
    if (p.kind === 'long-callback' || p.kind === 'blocked-callback') {
      if (loading !== undefined) await loading;
      await select({ kind: 'stall', startMs: stallNear(p.startMs, p.durationMs), durationMs: p.durationMs });
    } else if (p.requestId) await selectRequest({ requestId: p.requestId });
    else if (p.kind === 'gc') await select({ kind: 'gc', startMs: p.startMs, durationMs: p.durationMs });
    if (current === i) details.dataset.point = String(i);
  };

  /** The loaded stall that overlaps a finding's span the most (a finding may round its times). */
  function stallNear(fromMs: number, durMs: number): number {
    const stalls = timeline.data?.stalls;
    let best = fromMs;
    let bestOverlap = 0;
    if (stalls === undefined) return best;
    for (let i = 0; i < stalls.start.length; i++) {
      const s = stalls.start[i] as number;
      const overlap = Math.min(s + (stalls.dur[i] as number), fromMs + durMs) - Math.max(s, fromMs);
      if (overlap > bestOverlap || (bestOverlap === 0 && Math.abs(s - fromMs) < 1)) {
        best = s;
        bestOverlap = Math.max(overlap, 1e-9);
      }
    }
    return best;
  }

  async function explain(requestId: string): Promise<RequestBreakdown | undefined> {
    if (requestId === '' || analysisFailed !== undefined) return undefined;
    const query = new URLSearchParams({ trace: trace?.id ?? '', requestId });
    const answer = await getJson<{ request: RequestBreakdown | null }>(`/api/explain?${query}`);
    return answer.request ?? undefined;
  }

  async function pollAnalysis(): Promise<void> {
    const query = new URLSearchParams({ trace: trace?.id ?? '' });
    for (;;) {
      const state = await getJson<{ status: string; report?: AnalysisReport; error?: string; warnings?: string[] }>(
        `/api/analysis?${query}`,
      );
      if (state.status === 'failed') {
        analysisFailed = state.error ?? 'failed';
        navTitle.textContent = `(overview; the analysis failed: ${analysisFailed})`;
        return;
      }
      if (state.status === 'done' && state.report !== undefined) {
        analysed = true;
        stats.analysis = true;
        points = state.report.findings.map((f) => ({
          kind: f.kind,
          severity: f.severity,
          summary: f.summary,
          startMs: f.startMs,
          durationMs: f.durationMs,
          requestId: f.kind === 'slow-request' ? f.requests[0]?.requestId : undefined,
        }));
        stats.points = points.length;
        timeline.points = points;
        timeline.redraw();
        current = -1;
        // Segments the analysis skipped or read in part: counted here, each line in the tooltip.
        const warnings = state.warnings ?? [];
        navTitle.textContent =
          warnings.length === 0
            ? '(analysis)'
            : `(analysis; ${warnings.length} damaged segment${warnings.length === 1 ? '' : 's'}, see the tooltip)`;
        navTitle.title = warnings.join('\n');
        renderNavigator();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  async function showWideEvent(holder: HTMLElement, request: RequestInfo): Promise<void> {
    if (trace?.metrics === undefined) {
      holder.replaceChildren(h('p', { class: 'dim' }, 'No metrics.log joined (give --metrics FILE).'));
      return;
    }
    if (request.requestId === '') {
      holder.replaceChildren(h('p', { class: 'dim' }, 'This request has no request id (not the service).'));
      return;
    }
    holder.replaceChildren(h('p', { class: 'dim' }, 'finding its wide event in metrics.log…'));
    const record = await wideEvent(trace.metrics, request.requestId, info.timeOriginMs + request.startMs);
    if (record === null) {
      holder.replaceChildren(h('p', { class: 'dim' }, `RequestId ${request.requestId} is not in metrics.log.`));
      return;
    }
    const rows = wideEventRows(record);
    holder.replaceChildren(
      h(
        'table',
        { class: 'wide-event', 'data-request-id': request.requestId },
        h('caption', {}, 'wide event (metrics.log)'),
        h(
          'tbody',
          {},
          ...rows.map(([k, v]) =>
            h('tr', {}, h('th', {}, k), h('td', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))),
          ),
        ),
      ),
    );
  }

  function requestBlock(request: RequestInfo): HTMLElement {
    return h(
      'div',
      { class: 'request', 'data-request-id': request.requestId },
      h(
        'div',
        {},
        h('b', {}, request.operation),
        ` ${request.method} ${request.path} → `,
        h('b', {}, request.status),
        ` in ${duration(request.durationMs)}`,
      ),
      h('div', { class: 'dim' }, `request id ${request.requestId || '(none)'}`),
      h(
        'button',
        {
          type: 'button',
          class: 'open-request',
          onclick: () => selectRequest({ requestId: request.requestId, seq: request.seq }).catch(showError),
        },
        'request view',
      ),
    );
  }

  async function select(hit: Hit | undefined): Promise<void> {
    timeline.selected = hit;
    timeline.redraw();
    if (hit === undefined) {
      selection = undefined;
      saveUrl();
      return;
    }
    if (hit.kind === 'request') return selectRequest({ seq: hit.seq });
    selection = `${hit.kind}:${Math.round(hit.startMs * 1000) / 1000}`;
    saveUrl();
    if (hit.kind === 'gc') {
      details.replaceChildren(
        h('h3', {}, 'GC pause'),
        h(
          'p',
          { 'data-kind': 'gc' },
          `${duration(hit.durationMs)} at ${duration(hit.startMs - timeline.bounds.fromMs)} into the trace`,
        ),
      );
      return;
    }
    if (loading !== undefined) await loading;
    const { stall } = await windowWorker.call<'stall'>({ type: 'stall', startMs: hit.startMs });
    if (stall === undefined) {
      details.replaceChildren(h('p', {}, 'That stall is not in the loaded window.'));
      return;
    }
    const wide = h('div', { class: 'wide-holder' });
    const share = Number.isFinite(stall.cpuShare) ? stall.cpuShare : undefined;
    details.replaceChildren(
      h(
        'h3',
        { style: `border-left: 6px solid ${stallColour(stall.durationMs)}; padding-left: 6px` },
        `Main thread busy ${duration(stall.durationMs)}`,
      ),
      h(
        'p',
        { 'data-kind': 'stall' },
        `at ${duration(stall.startMs - timeline.bounds.fromMs)} into the trace (${new Date(info.timeOriginMs + stall.startMs).toISOString()}); ${stall.inFlight} request${stall.inFlight === 1 ? '' : 's'} in flight; `,
        cpuVerdict(share, stall.samples, stall.expectedSamples),
      ),
      h('h4', {}, `Stack (most seen of ${stall.samples} CPU samples)`),
      stall.stack.length === 0
        ? h('p', { class: 'dim' }, 'no CPU samples during it (DIAL9_CPU_PROFILE_ENABLED=true records them)')
        : h(
            'ol',
            { class: 'stack' },
            ...stall.stack.map((f) =>
              h(
                'li',
                {},
                h('span', { class: 'fn' }, f.functionName || '(anonymous)'),
                h('span', { class: 'dim' }, ` ${f.url.replace(/^.*\//, '')}:${f.line}`),
              ),
            ),
          ),
      h('h4', {}, 'Request it ran for'),
      stall.request === undefined
        ? h('p', { class: 'dim' }, 'none (not inside a request)')
        : requestBlock(stall.request),
      wide,
    );
    if (stall.request !== undefined) await showWideEvent(wide, stall.request);
  }

  async function selectRequest(match: { requestId?: string | undefined; seq?: number | undefined }): Promise<void> {
    if (loading !== undefined) await loading;
    const { request } = await windowWorker.call<'request'>({
      type: 'request',
      requestId: match.requestId || undefined,
      seq: match.seq,
    });
    if (request === undefined) {
      details.replaceChildren(h('p', {}, `Request ${match.requestId ?? match.seq} not found in this trace.`));
      return;
    }
    selection = request.requestId ? `request:${request.requestId}` : undefined;
    timeline.selected = { kind: 'request', seq: request.seq, startMs: request.startMs, durationMs: request.durationMs };
    const inView =
      request.startMs >= timeline.view.fromMs && request.startMs + request.durationMs <= timeline.view.toMs;
    if (!inView) await focusOn(request.startMs, request.durationMs);
    if (loading !== undefined) await loading;
    timeline.redraw();
    saveUrl();
    const wide = h('div', { class: 'wide-holder' });
    const view = h('div', {}, renderRequest(request, timeline.data));
    details.replaceChildren(h('h3', {}, 'Request'), requestBlock(request), view, wide);
    await Promise.all([
      showWideEvent(wide, request),
      explain(request.requestId).then((breakdown) => {
        if (breakdown !== undefined) view.replaceChildren(renderRequest(request, timeline.data, breakdown));
      }),
    ]);
  }

  async function showRange(fromMs: number, toMs: number): Promise<void> {
    range = { fromMs, toMs };
    timeline.range = range;
    timeline.redraw();
    saveUrl();
    if (loading !== undefined) await loading;
    const { root: tree, samples } = await windowWorker.call<'flame'>({ type: 'flame', fromMs, toMs });
    flame.show(tree, samples, `${duration(toMs - fromMs)} from ${duration(fromMs - timeline.bounds.fromMs)}`);
  }

  async function runSearch(text: string): Promise<void> {
    query = text.trim() || undefined;
    saveUrl();
    if (query === undefined) {
      results.replaceChildren();
      return;
    }
    results.replaceChildren(h('li', { class: 'dim' }, 'searching…'));
    const { hits } = await overviewWorker.call<'search'>({ type: 'search', query });
    results.replaceChildren(
      ...(hits.length === 0
        ? [h('li', { class: 'dim' }, 'nothing found')]
        : hits.map((hit) =>
            h(
              'li',
              {
                class: `hit ${hit.kind}`,
                onclick: () =>
                  (hit.requestId
                    ? selectRequest({ requestId: hit.requestId })
                    : focusOn(hit.startMs, Math.max(hit.durationMs, 20))
                  ).catch(showError),
              },
              h('span', { class: 'sev' }, hit.kind),
              ` ${hit.label}`,
            ),
          )),
    );
  }

  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') runSearch(search.value).catch(showError);
    if (event.key === 'Escape') search.blur();
  });
  copy.addEventListener('click', () => {
    window.navigator.clipboard?.writeText(location.href).catch(() => {});
  });
  minimap.addEventListener('click', (event) => {
    const b = timeline.bounds;
    const at = b.fromMs + (event.offsetX / minimap.clientWidth) * (b.toMs - b.fromMs);
    const span = timeline.view.toMs - timeline.view.fromMs;
    timeline.setView({ fromMs: at - span / 2, toMs: at + span / 2 });
  });
  document.addEventListener('keydown', (event) => {
    if (event.target instanceof HTMLInputElement || event.metaKey || event.ctrlKey || event.altKey) return;
    const { fromMs, toMs } = timeline.view;
    const span = toMs - fromMs;
    const centre = (fromMs + toMs) / 2;
    switch (event.key) {
      case 'n':
      case 'j':
        go(Math.min(points.length - 1, current + 1)).catch(showError);
        break;
      case 'p':
      case 'k':
        go(Math.max(0, current - 1)).catch(showError);
        break;
      case 'ArrowLeft':
        timeline.setView({ fromMs: fromMs - span * 0.2, toMs: toMs - span * 0.2 });
        break;
      case 'ArrowRight':
        timeline.setView({ fromMs: fromMs + span * 0.2, toMs: toMs + span * 0.2 });
        break;
      case '+':
      case '=':
        timeline.setView({ fromMs: centre - span / 4, toMs: centre + span / 4 });
        break;
      case '-':
      case '_':
        timeline.setView({ fromMs: centre - span, toMs: centre + span });
        break;
      case '0':
        timeline.setView({ ...timeline.bounds });
        break;
      case '/':
        event.preventDefault();
        search.focus();
        break;
      case 'Escape':
        range = undefined;
        timeline.range = undefined;
        select(undefined).catch(showError);
        break;
      default:
        return;
    }
  });
  window.addEventListener('resize', () => {
    timeline.redraw();
    counters.resize();
  });

  // First view: read just past the window; then the same window again with the CPU samples that
  // arrive late, and the whole trace's overview in the other worker.
  await loadWindow({ fromMs: firstView.fromMs, toMs: firstView.toMs }, true);
  const complete = loadWindow({ fromMs: firstView.fromMs, toMs: firstView.toMs });
  // Background: the whole trace, segment by segment.
  overviewWorker.stream({ type: 'overview', trace: trace.id, segments }, (reply) => {
    if (reply.type === 'error') {
      showError(new Error(reply.message));
      return true;
    }
    if (reply.type !== 'overview') return false;
    overview = reply.overview;
    const done = overview.segmentsDone === overview.segmentsTotal;
    timeline.bounds = { fromMs: overview.startMs, toMs: done ? overview.endMs : Math.max(overview.endMs, guessEnd) };
    if (!analysed) {
      points = overview.points;
      stats.points = points.length;
      timeline.points = points;
    }
    timeline.setOverview(overview);
    syncCounters();
    drawMinimap(minimap, overview, timeline.bounds, timeline.view);
    renderNavigator();
    if (done) {
      stats.overviewRequests = overview.perSecond.count.reduce((sum, c) => sum + c, 0);
      stats.overviewDone = true;
      // A short trace is shown whole, unless the link said otherwise.
      if (!explicitView && overview.endMs - overview.startMs <= FIRST_SPAN_MS) {
        timeline.setView({ fromMs: overview.startMs, toMs: overview.endMs + 1 });
      }
    }
    return done;
  });

  await complete;
  pollAnalysis().catch(showError);
  if (range !== undefined) await showRange(range.fromMs, range.toMs);
  if (selection?.startsWith('stall:')) {
    const at = Number(selection.slice(6));
    await select({ kind: 'stall', startMs: at, durationMs: 0 });
  } else if (selection?.startsWith('gc:')) {
    await select({ kind: 'gc', startMs: Number(selection.slice(3)), durationMs: 0 });
  } else if (selection?.startsWith('request:')) {
    await selectRequest({ requestId: selection.slice(8) });
  }
  if (query !== undefined) {
    search.value = query;
    await runSearch(query);
  }
}

/**
 * What a stall's process CPU says, in words. A low share alone cannot tell a thread that waited
 * (Atomics.wait, a synchronous call) from one that had code to run but no core (a crowded machine).
 * V8's sampler narrows it one way only: it interrupts a waiting thread on schedule (a 300 ms
 * Atomics.wait got 268 samples at 1 kHz), so far fewer samples than the stall's length allows means
 * the thread was short of CPU (a 150 ms burn starved to 11% of a core had 16 of 227). More samples
 * than that prove nothing: a starved burn at 38% of a core still had over half of them.
 */
function cpuVerdict(share: number | undefined, samples: number, expectedSamples: number | undefined): string {
  if (share === undefined) return '';
  const cpu = `process CPU ${(share * 100).toFixed(0)}% of a core`;
  if (share >= 0.5) return `${cpu} (all threads): computing`;
  if (expectedSamples !== undefined && expectedSamples >= 20 && samples < expectedSamples / 4)
    return `${cpu} and ${samples} of ~${Math.round(expectedSamples)} CPU samples: short of CPU (other work had the core), not waiting`;
  return `${cpu}: blocked (waiting) or short of CPU; not computing most of the time`;
}
