/**
 * The viewer in a real browser (chromium through playwright-core), on what the tests record: a
 * service trace with a planted 400 ms stall (its stack, request and wide event known), and cpu, 0x
 * and clinic-flame captures. Each view's screenshot is saved (the folder is printed).
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { eventRows } from '../../../src/profile/format/index.js';
import type { ProfileTool } from '../../../src/profile/sessions/capture-config.js';
import { call, getItems } from '../../helpers/http.js';
import { type MetricLine, parseLines } from '../../helpers/ndjson.js';
import { startService, stopAll } from '../../helpers/service-process.js';
import { record, tempDir } from '../sessions/capture-helpers.js';
import { readSegments } from '../trace-files.js';
import { closeBrowsers, launchBrowser, newPage, screenshot } from './browser.js';
import {
  PLANTED_FUNCTION,
  PLANTED_REQUEST_ID,
  PLANTED_STALL_MS,
  type RecordedTrace,
  recordServiceTrace,
} from './recorded-trace.js';
import { killViewers, startViewer, type ViewerProcess } from './viewer-process.js';

// Evaluated in the page: this suite's TypeScript has no DOM library, so the little it touches is declared.
interface PageCanvas {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
declare const window: {
  readonly devicePixelRatio: number;
  readonly __viewer?: {
    overviewDone: boolean;
    overviewRequests: number;
    analysis: boolean;
    firstViewMs?: number;
    points: number;
    windowLoads: { events: number }[];
  };
};
declare const document: {
  readonly title: string;
  getElementById(id: string): unknown;
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
  querySelectorAll(selector: string): { readonly length: number };
};
declare const location: { readonly href: string };

const TOOLS: ProfileTool[] = ['cpu', '0x', 'clinic-flame'];
const GUTTER_PX = 128;

let trace: RecordedTrace;
let captureDir: string;
let viewer: ViewerProcess;
let browser: Browser;

before(async () => {
  captureDir = tempDir('viewer-captures');
  const [recorded, ...captures] = await Promise.all([
    recordServiceTrace(),
    ...TOOLS.map((tool) =>
      record(['--tool', tool, '--duration', '1s', '--connections', '2', '--capture-dir', captureDir]),
    ),
  ]);
  trace = recorded;
  captures.forEach((result, i) => {
    assert.equal(result.code, 0, `${TOOLS[i]}: ${result.stderr}`);
  });
  viewer = await startViewer([trace.traceDir, '--port', '0', '--capture-dir', captureDir]);
  browser = await launchBrowser();
});

after(async () => {
  await stopAll();
  await closeBrowsers();
  await viewer?.stop();
  killViewers();
  rmSync(captureDir, { recursive: true, force: true });
  if (trace !== undefined) rmSync(trace.root, { recursive: true, force: true });
});

async function openTrace(page: Page, query = ''): Promise<void> {
  await page.goto(`${viewer.url}?trace=${encodeURIComponent(traceId())}${query}`);
  await page.waitForFunction(
    () =>
      window.__viewer?.overviewDone === true && window.__viewer.firstViewMs !== undefined && window.__viewer.analysis,
  );
  // The view may change once the overview is complete (a short trace is shown whole): let it draw.
  await page.waitForTimeout(300);
}

/** The trace's id in the viewer: its process directory under traces/. */
function traceId(): string {
  return `traces/${readdirSync(trace.traceDir)[0] ?? ''}`;
}

/** Pixels of the timeline (right of the lane labels) with exactly this colour. */
async function pixelsOf(page: Page, rgb: [number, number, number] | 'non-background'): Promise<number> {
  return page.evaluate(
    ([colour, gutter]) => {
      const canvas = document.getElementById('timeline') as PageCanvas;
      const ratio = window.devicePixelRatio || 1;
      const x0 = Math.ceil((gutter as number) * ratio);
      const data = canvas.getContext('2d').getImageData(x0, 0, canvas.width - x0, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
        if (
          colour === 'non-background'
            ? !(r === 251 && g === 251 && b === 250) && !(r === 228 && g === 226 && b === 220)
            : r === (colour as number[])[0] && g === (colour as number[])[1] && b === (colour as number[])[2]
        )
          n++;
      }
      return n;
    },
    [rgb, GUTTER_PX] as const,
  );
}

describe('profile serve in a browser', () => {
  it('lists the captures and the recorder traces', async () => {
    const page = await newPage(browser);
    await page.goto(viewer.url);
    await page.waitForSelector('#captures tbody tr');
    const tools = await page.$$eval('#captures td.tool', (cells) => cells.map((c) => c.firstChild?.textContent ?? ''));
    assert.deepEqual([...tools].sort(), [...TOOLS].sort());
    const traces = await page.$$eval('#traces tbody tr', (rows) => rows.map((r) => r.getAttribute('data-trace')));
    assert.deepEqual(traces, [traceId()]);
    const load = await page.$$eval('#captures tbody tr td:nth-child(5)', (cells) =>
      cells.map((c) => c.textContent ?? ''),
    );
    for (const text of load) assert.match(text, /^\d+ requests, \d+\/s, p99 .+, 0 errors$/);
    await screenshot(page, '01-index');
    await page.close();
  });

  it('renders a recorder trace: lanes drawn, the planted stall in its colour, counters, findings', async () => {
    const page = await newPage(browser);
    await openTrace(page);
    assert.ok((await pixelsOf(page, 'non-background')) > 2000, 'the timeline drew');
    // Stalls are drawn in one of three colours by duration (the planted one lasts 400 ms or more on a busy machine).
    const stallPixels = (await pixelsOf(page, [0xe0, 0x6c, 0x2b])) + (await pixelsOf(page, [0xb3, 0x26, 0x1e]));
    assert.ok(stallPixels > 20, 'the planted stall is drawn in a stall colour');
    assert.equal(await page.locator('#counters .counter').count(), 5);
    const stats = await page.evaluate(() => window.__viewer);
    assert.ok(stats !== undefined && stats.points > 0);
    assert.ok((stats?.windowLoads[0]?.events ?? 0) > 100, 'events decoded in the first window');
    const findings = await page.$$eval('#navigator li', (items) => items.map((i) => i.textContent ?? ''));
    // The analysis's findings, worst first: the planted stall named by its function.
    assert.equal(await page.locator('#navigator-source').textContent(), '(analysis)');
    assert.ok(
      findings.some((f) => f.includes(`${PLANTED_FUNCTION} `)),
      findings.join('\n'),
    );
    await screenshot(page, '02-trace');
    await page.close();
  });

  it('navigator → planted stall (stack, request, wide event) → range flamegraph → request view → deep link', async () => {
    const page = await newPage(browser);
    await openTrace(page);
    // The analysis names the planted stall's function; `n` walks the findings, worst first, to it.
    const findings = await page.$$eval('#navigator li', (items) => items.map((i) => i.textContent ?? ''));
    const planted = findings.findIndex((f) =>
      new RegExp(`^(critical|warning|info) ${PLANTED_FUNCTION} .* the event loop`).test(f),
    );
    assert.ok(planted >= 0, findings.join('\n'));
    for (let i = 0; i <= planted; i++) {
      await page.keyboard.press('n');
      // The details say which finding they show once they show it.
      await page.waitForSelector(`#details[data-point="${i}"]`);
    }
    const stack = (await page.locator('#details').textContent()) ?? '';
    // At least the planted time (a loaded machine stretches it: the loop runs until a wall-clock deadline).
    const busy = toMs(/Main thread busy (\S+ m?s)/.exec(stack)?.[1] ?? '');
    assert.ok(busy >= PLANTED_STALL_MS - 10, stack.slice(0, 80));
    const frames = await page.$$eval('#details .stack li .fn', (items) => items.map((i) => i.textContent ?? ''));
    assert.ok(frames.slice(0, 2).includes(PLANTED_FUNCTION), frames.join(' < '));
    // A CPU burn: computing, or (on a crowded machine) short of CPU, never plainly "blocked"; and
    // the request it ran in was in flight through it.
    const said = (await page.locator('#details p[data-kind="stall"]').textContent()) ?? '';
    assert.match(said, /: computing|short of CPU/, said);
    assert.match(said, /; 1 request in flight;/, said);
    await page.waitForSelector(`#details table.wide-event[data-request-id="${PLANTED_REQUEST_ID}"]`);
    const wide = await wideEvent(page);
    assert.equal(wide.RequestId, PLANTED_REQUEST_ID);
    assert.equal(wide.Path, '/items/planted');
    assert.equal(wide.Operation, 'GetItem');
    assert.equal(wide.StatusCode, '404');
    // The URL is written debounced: wait for the selection to reach it before reading it.
    await page.waitForFunction(() => new URL(location.href).searchParams.get('sel')?.startsWith('stall:'));
    assert.match(new URL(page.url()).searchParams.get('sel') ?? '', /^stall:\d+(\.\d+)?$/);
    await screenshot(page, '03-navigator-stall');

    // Shift-drag across the middle of the stall: where it is drawn follows from the URL's window.
    const shown = new URL(page.url()).searchParams;
    const [viewFromMs, viewToMs] = [Number(shown.get('from')), Number(shown.get('to'))];
    const stallMs = Number(shown.get('sel')?.slice('stall:'.length));
    const box = (await page.locator('#timeline').boundingBox()) ?? { x: 0, y: 0, width: 0, height: 0 };
    const lanes = box.width - GUTTER_PX;
    const xOf = (ms: number) => box.x + GUTTER_PX + ((ms - viewFromMs) / (viewToMs - viewFromMs)) * lanes;
    const [x0, x1] = [xOf(stallMs + busy * 0.2), xOf(stallMs + busy * 0.8)];
    const y = box.y + 40;
    await page.keyboard.down('Shift');
    await page.mouse.move(x0, y);
    await page.mouse.down();
    await page.mouse.move((x0 + x1) / 2, y, { steps: 4 });
    await page.mouse.move(x1, y, { steps: 4 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await page.waitForSelector('.top-functions tbody tr');
    const hottest = await page.$$eval('.top-functions tbody tr td.fn', (cells) =>
      cells.map((c) => c.textContent ?? ''),
    );
    assert.ok(hottest.slice(0, 2).includes(PLANTED_FUNCTION), hottest.join(', '));
    const samples = Number(/(\d+) CPU samples/.exec((await page.locator('.flame-label').textContent()) ?? '')?.[1]);
    // How many depends on how much CPU the busy machine gave the loop; the function is what counts.
    assert.ok(samples >= 1, `${samples} samples in the range`);
    await screenshot(page, '04-range-flamegraph');

    await page.click('#details button.open-request');
    // The analysis's breakdown: the planted CPU is its own, nothing queued, the parts add up to its duration.
    await page.waitForSelector(
      `#details .request-view[data-request-id="${PLANTED_REQUEST_ID}"][data-source="analysis"]`,
    );
    const parts = await page.$$eval('#details .breakdown-table tr', (rows) =>
      Object.fromEntries(rows.map((r) => [r.getAttribute('data-part'), r.lastElementChild?.textContent ?? ''])),
    );
    const partMs = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, toMs(String(v))]));
    assert.ok((partMs.ownCpuMs ?? 0) >= 50, JSON.stringify(parts));
    assert.ok((partMs.ownCpuMs ?? 0) > (partMs.queuedMs ?? 0), JSON.stringify(parts));
    const total = Object.values(partMs).reduce((a, b) => a + b, 0);
    const requestMs = toMs(
      /in (\S+ m?s)$/.exec((await page.locator('#details .request div').first().textContent()) ?? '')?.[1] ?? '',
    );
    assert.ok(Math.abs(total - requestMs) < 0.5, `parts ${total} ms, request ${requestMs} ms`);
    await page.waitForSelector(`#details table.wide-event[data-request-id="${PLANTED_REQUEST_ID}"]`);
    assert.equal((await wideEvent(page)).RequestId, PLANTED_REQUEST_ID);
    await screenshot(page, '05-request-view');

    // The link holds trace, window, selection and range: a fresh page shows the same.
    await page.waitForFunction(() => new URL(location.href).searchParams.get('sel')?.startsWith('request:'));
    await page.waitForTimeout(300);
    const link = new URL(page.url());
    const again = await newPage(browser);
    await again.goto(link.href);
    await again.waitForSelector(`#details .request-view[data-request-id="${PLANTED_REQUEST_ID}"]`);
    await again.waitForSelector('.top-functions tbody tr');
    const reopenedHottest = await again.$$eval('.top-functions tbody tr td.fn', (cells) =>
      cells.map((c) => c.textContent ?? ''),
    );
    assert.deepEqual(reopenedHottest, hottest);
    await again.waitForTimeout(400);
    const reopened = new URL(again.url());
    for (const name of ['trace', 'from', 'to', 'sel', 'rfrom', 'rto'])
      assert.equal(reopened.searchParams.get(name), link.searchParams.get(name), name);
    assert.equal(link.searchParams.get('sel'), `request:${PLANTED_REQUEST_ID}`);
    await screenshot(again, '06-deep-link');
    await again.close();
    await page.close();
  });

  it('search finds a request by its id and opens it', async () => {
    const page = await newPage(browser);
    await openTrace(page);
    const id = trace.requestIds[7] ?? '';
    await page.fill('#search', id);
    await page.press('#search', 'Enter');
    await page.waitForSelector('#search-results li.hit');
    const hits = await page.$$eval('#search-results li.hit', (items) => items.map((i) => i.textContent ?? ''));
    assert.equal(hits.length, 1, hits.join('\n'));
    assert.match(hits[0] ?? '', new RegExp(`^request ${id} (GetItem|SetItem) (GET|PUT) /items/k\\d → \\d+ in`));
    await page.click('#search-results li.hit');
    await page.waitForSelector(`#details table.wide-event[data-request-id="${id}"]`);
    assert.equal((await wideEvent(page)).RequestId, id);
    // The URL follows the view after a short debounce.
    await page.waitForFunction((q) => new URL(location.href).searchParams.get('q') === q, id);
    assert.equal(new URL(page.url()).searchParams.get('q'), id);
    await screenshot(page, '07-search');
    await page.close();
  });

  it('opens a .cpuprofile in speedscope, offline', async () => {
    const page = await newPage(browser);
    await page.goto(viewer.url);
    const link = page.locator('#captures a.open-speedscope').first();
    const name = ((await link.textContent()) ?? '').replace(' (speedscope)', '');
    assert.match(name, /\.cpuprofile$/);
    const outside: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(viewer.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:'))
        outside.push(r.url());
    });
    await link.click();
    await page.waitForFunction((n) => document.title.includes(n), name, { timeout: 30_000 });
    await page.waitForSelector('canvas');
    assert.deepEqual(outside, [], 'speedscope fetched nothing from outside');
    await page.waitForTimeout(500);
    await screenshot(page, '08-speedscope');
    await page.close();
  });

  for (const [tool, file] of [
    ['0x', 'flamegraph.html'],
    ['clinic-flame', '.clinic-flame.html'],
  ] as const) {
    it(`opens the ${tool} report as it is`, async () => {
      const page = await newPage(browser);
      await page.goto(viewer.url);
      const link = page.locator(`#captures tr:has(td.tool:text-is("${tool}")) a.open-report`).first();
      assert.ok(((await link.textContent()) ?? '').endsWith(file));
      const [response] = await Promise.all([page.waitForNavigation(), link.click()]);
      assert.equal(response?.status(), 200);
      assert.match(response?.headers()['content-type'] ?? '', /^text\/html/);
      await page.waitForLoadState('load');
      await page.waitForTimeout(1000);
      const elements = await page.evaluate(() => document.querySelectorAll('svg, canvas, div').length);
      assert.ok(elements > 5, `${tool} report rendered ${elements} elements`);
      await screenshot(page, `09-${tool}`);
      await page.close();
    });
  }
});

describe('profile serve in a browser, a damaged segment beside a good one', () => {
  it('draws the trace from what the damaged .gz holds up to its cut, and says so in the findings title', async () => {
    // The recorded trace's process directory copied; then a copy of its first segment, cut short (a
    // full disk or a kill while the recorder gzipped it), put beside it. The page is loaded before
    // and after: the cut copy's blocks before the cut must add events to the first window.
    const root = tempDir('viewer-damaged');
    const processDir = readdirSync(trace.traceDir)[0] ?? assert.fail('no process directory');
    const copy = join(root, 'traces', processDir);
    cpSync(join(trace.traceDir, processDir), copy, { recursive: true });
    const intact = await firstWindowEvents(root, processDir);
    const first = readdirSync(copy).find((n) => n.endsWith('.gz')) ?? assert.fail('no sealed segment');
    const gz = readFileSync(join(copy, first));
    writeFileSync(join(copy, first.replace(/^trace\.(\d+)/, 'trace.9$1')), gz.subarray(0, gz.length - 40));
    const damaged = await startViewer([join(root, 'traces'), '--port', '0']);
    try {
      const page = await openTraceAt(damaged.url, processDir);
      assert.ok((await pixelsOf(page, 'non-background')) > 2000, 'the timeline drew');
      const events = await page.evaluate(() => window.__viewer?.windowLoads[0]?.events ?? 0);
      assert.ok(events > intact, `the cut copy added events to the first window (${events} against ${intact})`);
      assert.match(
        (await page.locator('#navigator-source').textContent()) ?? '',
        /^\(analysis; 1 damaged segment, see the tooltip\)$/,
      );
      assert.match(
        (await page.locator('#navigator-source').getAttribute('title')) ?? '',
        /trace\.9\d+\.bin\.gz is cut short/,
      );
      await screenshot(page, '10-damaged-segment');
      await page.close();
    } finally {
      await damaged.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  /** Events decoded for the first view of the trace in `<root>/traces/<processDir>`. */
  async function firstWindowEvents(root: string, processDir: string): Promise<number> {
    const viewer = await startViewer([join(root, 'traces'), '--port', '0']);
    try {
      const page = await openTraceAt(viewer.url, processDir);
      const events = await page.evaluate(() => window.__viewer?.windowLoads[0]?.events ?? 0);
      await page.close();
      assert.ok(events > 100, `events decoded in the first window of the intact copy (${events})`);
      return events;
    } finally {
      await viewer.stop();
    }
  }
});

describe('profile serve in a browser, a busy trace whose fast requests were only counted', () => {
  it('counts them in the requests a second and says so over the in-flight line', async () => {
    const root = tempDir('viewer-counted');
    try {
      const service = await startService([], {
        DIAL9_ENABLED: 'true',
        DIAL9_TRACE_DIR: join(root, 'traces'),
        DIAL9_REQUEST_EVENTS_PER_SEC: '2',
      });
      assert.equal((await call(`${service.url}/items/k`, { method: 'PUT', body: 'v' })).status, 204);
      await getItems(service.url, 300, 2);
      assert.equal(await service.stop('SIGTERM'), 0);
      const served = parseLines<MetricLine>(service.stdout()).filter((l) => l.properties?.Operation !== undefined);
      assert.equal(served.length, 301);
      const segments = readSegments(join(root, 'traces')).map((f) => f.segment);
      const counted = segments
        .flatMap((seg) => eventRows(seg, 'requestsSkipped'))
        .reduce((sum, r) => sum + Number(r.count), 0);
      assert.ok(counted >= 150, `${counted} of 301 counted`);

      const processDir = readdirSync(join(root, 'traces'))[0] ?? assert.fail('no process directory');
      const counting = await startViewer([join(root, 'traces'), '--port', '0']);
      try {
        const page = await openTraceAt(counting.url, processDir);
        // Every request served is in the requests-a-second bars, written or only counted.
        assert.equal(await page.evaluate(() => window.__viewer?.overviewRequests), served.length);
        const label = page.locator('[data-counter="requests in flight"] .counter-label');
        assert.equal(await label.textContent(), 'requests in flight (written only)');
        assert.match(
          (await label.getAttribute('title')) ?? '',
          /^[\d,]+ fast requests in this window were only counted \(DIAL9_REQUEST_EVENTS_PER_SEC\)/,
        );
        await screenshot(page, '11-counted-requests');
        await page.close();
      } finally {
        await counting.stop();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/** The trace page of `processDir` under `<url>/traces`, once drawn and analysed. */
async function openTraceAt(url: string, processDir: string): Promise<Page> {
  const page = await newPage(browser);
  await page.goto(`${url}?trace=${encodeURIComponent(`traces/${processDir}`)}`);
  await page.waitForFunction(
    () =>
      window.__viewer?.overviewDone === true && window.__viewer.firstViewMs !== undefined && window.__viewer.analysis,
  );
  await page.waitForTimeout(300);
  return page;
}

/** "125.1 ms", "0 µs", "1.25 s" → ms. */
function toMs(text: string): number {
  const match = /^([\d.]+) (µs|ms|s)$/.exec(text.trim());
  if (match === null) return Number.NaN;
  const unit: Record<string, number> = { µs: 0.001, ms: 1, s: 1000 };
  return Number(match[1]) * (unit[match[2] ?? 'ms'] ?? 1);
}

async function wideEvent(page: Page): Promise<Record<string, string>> {
  return page.$$eval('#details table.wide-event tr', (rows) =>
    Object.fromEntries(
      rows.map((r) => [r.firstElementChild?.textContent ?? '', r.lastElementChild?.textContent ?? '']),
    ),
  );
}
