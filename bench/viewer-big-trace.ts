/**
 * The trace viewer on a big trace, measured in the browser: `service profile serve` on a trace
 * directory, chromium (playwright-core) opens the trace, and the page's own clock says how long the
 * first view took (navigation start → the first window drawn), how long each frame of panning and
 * zooming took to draw, and how long the background overview of the whole trace took.
 *
 *   npm run build && node dist/bench/viewer-big-trace.js --trace-dir DIR [--metrics FILE] [--steps 60]
 *
 * Record the trace first (10 minutes of full-speed load against the service, flight recorder on):
 *   DIAL9_ENABLED=true DIAL9_TRACE_DIR=/tmp/big/traces DIAL9_CPU_PROFILE_ENABLED=true \
 *     service run --port 3917 --telemetry-dir /tmp/big/telemetry &
 *   service load http://127.0.0.1:3917 --mix get=9,put=1 --duration 10m -c 50
 */
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { loadServeConfig } from '../src/config/serve.js';
import { startViewer } from '../src/profile/viewer/server.js';

const { values } = parseArgs({
  options: {
    'trace-dir': { type: 'string' },
    metrics: { type: 'string' },
    steps: { type: 'string', default: '60' },
  },
});
const traceDir = values['trace-dir'];
if (traceDir === undefined) throw new Error('--trace-dir DIR is required');
const steps = Number(values.steps);

interface Stats {
  firstViewMs?: number;
  openedMs?: number;
  overviewDone: boolean;
  windowLoads: { fromMs: number; toMs: number; events: number; decodeMs: number; totalMs: number }[];
  frameTimes: number[];
  points: number;
}
declare const window: { __viewer?: Stats };
declare function requestAnimationFrame(callback: (time: number) => void): number;

/** A few wheel zooms; the draw times of the frames they caused. */
async function interact(page: import('playwright-core').Page, count: number): Promise<number[]> {
  const box = (await page.locator('#timeline').boundingBox()) ?? { x: 0, y: 0, width: 1000, height: 200 };
  await page.evaluate(() => {
    (window.__viewer as Stats).frameTimes.length = 0;
  });
  for (let i = 0; i < count; i++) {
    await page.mouse.move(box.x + box.width / 2, box.y + 60);
    await page.mouse.wheel(0, i % 10 < 5 ? -120 : 120);
    await page.evaluate(
      () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))),
    );
  }
  return [...((await page.evaluate(() => window.__viewer)) as Stats).frameTimes];
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const ms = (n: number) => `${n.toFixed(1)} ms`;

const config = loadServeConfig({ port: '0', captureDir: traceDir, metrics: values.metrics }, traceDir, false);
const viewer = await startViewer(config);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.setDefaultTimeout(600_000);
  const processDir = readdirSync(traceDir)[0] ?? '';
  const opened = Date.now();
  await page.goto(`${viewer.url}?trace=${encodeURIComponent(`traces/${processDir}`)}`);
  await page.waitForFunction(() => window.__viewer?.firstViewMs !== undefined);
  const first = (await page.evaluate(() => window.__viewer)) as Stats;
  console.log(
    `first view: ${ms(first.firstViewMs ?? Number.NaN)} (page clock, from navigation start; segment headers in at ${ms(first.openedMs ?? Number.NaN)})`,
  );
  // Interaction is measured once the background work (overview, complete window) is done, and again
  // while it runs: on two shared cores the workers' decoding competes with the page for the CPU.
  console.log(
    `first window: ${first.windowLoads[0]?.events.toLocaleString()} events, fetched and decoded in ${ms(first.windowLoads[0]?.totalMs ?? Number.NaN)}`,
  );

  const busyDraws = await interact(page, Math.min(steps, 20));
  console.log(
    `pan/zoom while the workers decode: draw time p50 ${ms(percentile(busyDraws, 50))}, p95 ${ms(percentile(busyDraws, 95))}`,
  );
  await page.waitForFunction(() => window.__viewer?.overviewDone === true);
  console.log(
    `overview of the whole trace (background worker): done ${((Date.now() - opened) / 1000).toFixed(1)} s after opening`,
  );
  await page.waitForTimeout(2000);
  // Interaction: zoom in and out around the centre, then pan by dragging, one input a frame.
  const box = (await page.locator('#timeline').boundingBox()) ?? { x: 0, y: 0, width: 1000, height: 200 };
  const y = box.y + 60;
  const x = box.x + box.width / 2;
  await page.evaluate(() => {
    const stats = window.__viewer as Stats & { intervals?: number[] };
    stats.frameTimes.length = 0;
  });
  const frameIntervals: number[] = [];
  for (let i = 0; i < steps; i++) {
    await page.mouse.move(x, y);
    const started = Date.now();
    await page.mouse.wheel(0, i % 20 < 10 ? -120 : 120);
    await page.evaluate(
      () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))),
    );
    frameIntervals.push(Date.now() - started);
  }
  for (let i = 0; i < steps; i++) {
    const started = Date.now();
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x - 25, y, { steps: 2 });
    await page.mouse.up();
    await page.evaluate(
      () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))),
    );
    frameIntervals.push(Date.now() - started);
  }
  const after = (await page.evaluate(() => window.__viewer)) as Stats;
  const draws = after.frameTimes;
  console.log(
    `pan/zoom: ${draws.length} frames drawn; draw time p50 ${ms(percentile(draws, 50))}, p95 ${ms(percentile(draws, 95))}, max ${ms(Math.max(...draws))}`,
  );
  console.log(
    `input → frame on screen (round trip through playwright): p50 ${ms(percentile(frameIntervals, 50))}, p95 ${ms(percentile(frameIntervals, 95))}, max ${ms(Math.max(...frameIntervals))}`,
  );
  const loads = after.windowLoads.slice(1);
  if (loads.length > 0)
    console.log(
      `window loads while panning: ${loads.length}, p50 ${ms(
        percentile(
          loads.map((l) => l.totalMs),
          50,
        ),
      )}, max ${ms(Math.max(...loads.map((l) => l.totalMs)))} (in the worker; frames keep drawing meanwhile)`,
    );
  await page.waitForFunction(() => window.__viewer?.overviewDone === true);
  const done = (await page.evaluate(() => window.__viewer)) as Stats;
  console.log(
    `overview of the whole trace (background worker): done ${((Date.now() - opened) / 1000).toFixed(1)} s after opening, ${done.points} points of interest`,
  );
  await page.keyboard.press('0');
  await page.evaluate(
    () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))),
  );
  const whole = (await page.evaluate(() => window.__viewer)) as Stats;
  console.log(
    `whole trace drawn from the overview in ${ms(whole.frameTimes[whole.frameTimes.length - 1] ?? Number.NaN)}`,
  );
  await page.screenshot({ path: 'test-output/screenshots/bench-big-trace.png' });
} finally {
  await browser.close();
  await viewer.close();
}
