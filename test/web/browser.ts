/**
 * The page tests' browser: Debian's chromium (or CHROMIUM_PATH), headless, with the flags the
 * project runs it with, and the page built if it is not.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { LyingServer } from '../lying-server.js';
import { WEB_DIST } from '../../src/server/static.js';

function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    const found = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
    if (found) return found;
  } catch {
    // not installed
  }
  throw new Error('the browser tests need Debian chromium: apt-get install chromium (bash .ci/run does it), or set CHROMIUM_PATH');
}

/** Builds the page when it is not built, and launches the browser. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(join(WEB_DIST, 'index.html'))) execFileSync('npm', ['run', 'build:web'], { stdio: 'ignore' });
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Opens the page as `liar` serves it, told to be honest, in a fresh browser profile; a page error fails the test. */
export async function openPageVia(browser: Browser, liar: LyingServer, width = 1366, height = 1024, path = '/'): Promise<Page> {
  liar.lie = { kind: 'honest' };
  const page = await (await browser.newContext({ viewport: { width, height } })).newPage();
  page.on('pageerror', (e) => {
    throw e;
  });
  await page.goto(`${liar.url}${path}`);
  return page;
}
