/**
 * A real browser for the viewer tests: Debian's chromium driven by playwright-core (no browser
 * download). Every browser launched here is closed by `closeBrowsers()`; screenshots go to one folder,
 * printed once, so a person can open them and look.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ROOT } from '../../helpers/service-process.js';

export const SCREENSHOTS = join(ROOT, 'test-output', 'screenshots');

const browsers = new Set<Browser>();
let announced = false;

export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(`no chromium at ${path}: apt-get install chromium, or set CHROMIUM_PATH`);
  return path;
}

export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root (CI, containers) cannot use chromium's sandbox.
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--disable-gpu'],
  });
  browsers.add(browser);
  return browser;
}

export async function newPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  page.setDefaultTimeout(30_000);
  return page;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  if (!announced) {
    announced = true;
    console.log(`# viewer screenshots: ${SCREENSHOTS}`);
  }
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export async function closeBrowsers(): Promise<void> {
  for (const browser of browsers) await browser.close().catch(() => {});
  browsers.clear();
}
