/** The index page: every capture and recorder trace, with a way to open each. */
import { type CaptureEntry, catalog, speedscopeUrl, type TraceEntry } from './api.js';
import { bytes, duration, h } from './dom.js';

function traceLink(trace: TraceEntry): HTMLElement {
  return h('a', { href: `/?trace=${encodeURIComponent(trace.id)}`, class: 'open-trace' }, 'trace viewer');
}

function captureLinks(capture: CaptureEntry): HTMLElement {
  const links = h('div', { class: 'links' });
  for (const file of capture.files) {
    const name = file.path.split('/').pop() ?? file.path;
    if (file.kind === 'report') links.append(h('a', { href: file.url, class: 'open-report' }, name));
    else if (file.kind === 'cpuprofile' || file.kind === 'heapprofile')
      links.append(h('a', { href: speedscopeUrl(file.url, name), class: 'open-speedscope' }, `${name} (speedscope)`));
  }
  for (const trace of capture.traces) links.append(traceLink(trace));
  const metrics = capture.files.find((f) => f.kind === 'metrics');
  if (metrics !== undefined) links.append(h('a', { href: metrics.url }, 'metrics.log'));
  return links;
}

function loadSummary(capture: CaptureEntry): string {
  const load = capture.load;
  if (load === undefined) return '';
  const p99 = load.p99Ms === undefined ? '' : `, p99 ${duration(load.p99Ms)}`;
  return `${load.requests} requests, ${Math.round(load.rps)}/s${p99}, ${load.errors} errors`;
}

export async function renderIndex(root: HTMLElement): Promise<void> {
  document.title = 'service profile serve';
  const data = await catalog();
  const captures = h(
    'table',
    { id: 'captures' },
    h('thead', {}, h('tr', {}, ...['started', 'tool', 'duration', 'size', 'load', 'open'].map((t) => h('th', {}, t)))),
    h(
      'tbody',
      {},
      ...data.captures.map((c) =>
        h(
          'tr',
          { 'data-capture': c.id },
          h('td', {}, c.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')),
          h('td', { class: 'tool' }, c.tool, h('span', { class: 'dim' }, ` ${c.toolVersion}`)),
          h('td', {}, duration(c.durationMs)),
          h('td', {}, bytes(c.bytes)),
          h('td', {}, loadSummary(c)),
          h('td', {}, captureLinks(c)),
        ),
      ),
    ),
  );
  const traces = h(
    'table',
    { id: 'traces' },
    h(
      'thead',
      {},
      h('tr', {}, ...['service', 'pid', 'started', 'segments', 'size', 'open'].map((t) => h('th', {}, t))),
    ),
    h(
      'tbody',
      {},
      ...data.traces.map((t) =>
        h(
          'tr',
          { 'data-trace': t.id },
          h('td', {}, t.service),
          h('td', {}, t.pid ?? ''),
          h('td', {}, t.startedAt ?? ''),
          h('td', {}, `${t.segments.length}${t.segments.some((s) => !s.sealed) ? ' (one being written)' : ''}`),
          h('td', {}, bytes(t.bytes)),
          h('td', {}, traceLink(t)),
        ),
      ),
    ),
  );
  root.replaceChildren(
    h('header', {}, h('h1', {}, 'Captures and traces')),
    h(
      'main',
      { class: 'index' },
      h('h2', {}, `Captures `, h('span', { class: 'dim' }, data.captureDir)),
      data.captures.length === 0 ? h('p', { class: 'empty' }, 'No captures yet: service profile record') : captures,
      h('h2', {}, `Flight recorder traces `, h('span', { class: 'dim' }, data.traceDir)),
      data.traces.length === 0 ? h('p', { class: 'empty' }, 'No traces yet: source dial9.env && service run') : traces,
    ),
  );
}
