/**
 * End to end in real headless Chromium (Debian's chromium driven by playwright-core) against a
 * real server with the demo supply chain. Screenshots land in test-output/screenshots.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStatement, statement } from '../../src/attest/sign.js';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { loadDemo, type DemoSummary } from '../../src/demo/demo.js';
import { WEB_DIST } from '../../src/server/static.js';
import { startNode, type TestNode } from '../helpers.js';
import { party, registration } from '../attest/fixtures.js';

const SHOTS = join(import.meta.dirname, '..', '..', 'test-output', 'screenshots');
let node: TestNode;
let demo: DemoSummary;
let browser: Browser;

function which(cmd: string): string | undefined {
  try {
    return execFileSync('which', [cmd], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Debian's chromium; on a fresh Debian machine where we are root, install it first. */
function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  let found = which('chromium');
  if (!found && process.getuid?.() === 0 && which('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: 'ignore', env });
    found = which('chromium');
  }
  if (!found) throw new Error('the browser tests need Debian chromium: sudo apt-get install chromium (or set CHROMIUM_PATH)');
  return found;
}

beforeAll(async () => {
  if (!existsSync(join(WEB_DIST, 'index.html'))) execFileSync('npm', ['run', 'build:web'], { stdio: 'ignore' });
  mkdirSync(SHOTS, { recursive: true });
  node = await startNode();
  demo = await loadDemo(node.attestations, node.adminKey, node.dir);
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await node?.cleanup();
});

async function openPage(width = 1024, height = 1366): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width, height } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => {
    throw e;
  });
  await page.goto(node.url);
  return page;
}

/** Plays a dishonest server: the evidence in every device answer is changed by `mutate`. */
async function tamperEvidence(page: Page, mutate: (evidence: any) => void): Promise<void> {
  await page.route('**/graphql', async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    const ev = body?.data?.device?.evidence;
    if (ev) mutate(ev);
    await route.fulfill({ response, json: body });
  });
}

async function checkDevice(page: Page, udi: string): Promise<string> {
  await page.fill('#udi', udi);
  await page.click('button[type=submit]');
  await page.waitForSelector('.banner h2', { timeout: 30_000 });
  return page.textContent('.banner h2').then((t) => t ?? '');
}

describe('the hospital page', () => {
  it('shows PASS for a passing device, verified in the browser, with its provenance tree', async () => {
    const page = await openPage();
    const verdict = await checkDevice(page, demo.passing[0]!);
    expect(verdict).toMatch(/^PASS/);
    expect(await page.textContent('.checks summary')).toMatch(/Verified in this browser: \d+ checks passed/);
    const checks = await page.locator('.checks li').allTextContents();
    expect(checks.join('\n')).toMatch(/inclusion proofs lead to the checkpoint/);
    expect(checks.join('\n')).toMatch(/DSSE signatures verify/);
    expect(checks.join('\n')).toMatch(/verdict re-derived in this browser: PASS/);
    expect(await page.locator('.tree .component').count()).toBeGreaterThanOrEqual(9);
    expect(await page.textContent('#trust')).toMatch(/pinned/);
    // Expand a supplier attestation: it shows signer, time and log index, and offers the raw bundle.
    const node1 = page.locator('.tree .component').first();
    await node1.locator('summary').first().click();
    await node1.locator('.node summary').first().click();
    expect(await node1.locator('.node .meta').first().textContent()).toMatch(/acme-sensors .* entry #\d+/);
    const [dl] = await Promise.all([page.waitForEvent('download'), node1.locator('.node button').first().click()]);
    expect(dl.suggestedFilename()).toMatch(/^entry-\d+\.sigstore\.json$/);
    const [ev] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download evidence package' }).click()]);
    expect(ev.suggestedFilename()).toMatch(/\.evidence\.json$/);
    await page.screenshot({ path: join(SHOTS, 'device-pass.png'), fullPage: true });
    await page.context().close();
  }, 60_000);

  it('accepts a barcode scanner’s raw GS1 keystrokes (Ctrl+] for the group separator)', async () => {
    const page = await openPage();
    const serial = demo.passing[1]!.split('(21)')[1]!;
    await page.focus('#udi');
    await page.keyboard.type('0109506000134352');
    await page.keyboard.press('Control+BracketRight');
    await page.keyboard.type(`21${serial}`);
    expect(await page.inputValue('#udi')).toContain('\u001d');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.banner h2');
    expect(await page.textContent('.banner .udi')).toBe(demo.passing[1]);
    await page.context().close();
  }, 60_000);

  it('shows FAIL for the device with a component signed by a revoked key, in plain language', async () => {
    const page = await openPage();
    expect(await checkDevice(page, demo.failing[0]!)).toMatch(/^FAIL/);
    expect(await page.textContent('.findings')).toMatch(/revoked/);
    expect(await page.textContent('.findings')).toContain('SIGNER_REVOKED');
    await page.screenshot({ path: join(SHOTS, 'device-fail.png'), fullPage: true });
    await page.context().close();
  }, 60_000);

  it('shows a recalled device as FAIL, and the recall view lists exactly the affected devices and sites', async () => {
    const page = await openPage();
    expect(await checkDevice(page, demo.recalled[0]!)).toMatch(/^FAIL/);
    expect(await page.textContent('.findings')).toMatch(/Recalled/);
    await page.screenshot({ path: join(SHOTS, 'device-recalled.png'), fullPage: true });
    await page.click('nav button[data-view=recall]');
    await page.fill('#recall-value', demo.recalledLot);
    await page.click('#recall-form button[type=submit]');
    await page.waitForSelector('#recall-result table');
    const udis = await page.locator('#recall-result tbody tr td:first-child').allTextContents();
    expect(udis.sort()).toEqual([...demo.recalled].sort());
    expect(await page.textContent('#recall-result tbody')).toMatch(/Hospital/);
    await page.screenshot({ path: join(SHOTS, 'recall.png'), fullPage: true });
    await page.context().close();
  }, 60_000);

  it('shows INCOMPLETE for a device without a release decision', async () => {
    const page = await openPage();
    expect(await checkDevice(page, demo.incomplete[0]!)).toMatch(/^INCOMPLETE/);
    await page.context().close();
  }, 60_000);

  it('refuses to show PASS when the server serves a tampered inclusion proof, and says why', async () => {
    const page = await openPage();
    await tamperEvidence(page, (ev) => {
      const h = ev.bundles[3].verificationMaterial.tlogEntries[0].inclusionProof.hashes;
      h[0] = Buffer.from(Buffer.from(h[0], 'base64').map((x, i) => (i === 0 ? x ^ 1 : x))).toString('base64');
    });
    const verdict = await checkDevice(page, demo.passing[0]!);
    expect(verdict).not.toMatch(/PASS/);
    expect(verdict).toMatch(/NOT VERIFIED/);
    expect(await page.textContent('.problems')).toMatch(/inclusion proof does not lead to the checkpoint root/);
    await page.screenshot({ path: join(SHOTS, 'tampered-proof.png'), fullPage: true });
    await page.context().close();
  }, 60_000);

  it('refuses to show PASS when the server serves a tampered checkpoint, and says why', async () => {
    const page = await openPage();
    await tamperEvidence(page, (ev) => {
      const lines = ev.checkpoint.split('\n');
      lines[1] = String(Number(lines[1]) + 1);
      ev.checkpoint = lines.join('\n');
    });
    const verdict = await checkDevice(page, demo.passing[0]!);
    expect(verdict).toMatch(/NOT VERIFIED/);
    expect(await page.textContent('.problems')).toMatch(/checkpoint does not verify/);
    await page.context().close();
  }, 60_000);

  it('warns loudly when the log key differs from the one pinned in this browser', async () => {
    const page = await openPage();
    await page.evaluate(() => localStorage.setItem(`pedigree:log-key:${'test.pedigree.local/log'}`, 'f'.repeat(64)));
    const verdict = await checkDevice(page, demo.passing[0]!);
    expect(verdict).toMatch(/NOT VERIFIED/);
    expect(await page.textContent('#trust')).toMatch(/signing key has changed/);
    await page.context().close();
  }, 60_000);

  it('checks that a later checkpoint is consistent with the one it saw before', async () => {
    const page = await openPage();
    await checkDevice(page, demo.passing[2]!);
    const p = party('late-supplier');
    await node.attestations.submit(await signStatement(registration(p, ['supplier']), node.adminKey));
    await node.attestations.submit(await signStatement(statement([{ digest: { partSerial: 'late-supplier:X:1' } }], resolvePredicateType('component').uri, { partNumber: 'X', componentType: 'x' }), p.privateKey));
    await checkDevice(page, demo.passing[2]!);
    expect((await page.locator('.checks li').allTextContents()).join('\n')).toMatch(/consistent with the checkpoint this browser saw before/);
    await page.context().close();
  }, 60_000);

  it('explores the log: checkpoint, live entries, entry detail, participants', async () => {
    const page = await openPage();
    await page.click('nav button[data-view=log]');
    await page.waitForSelector('#latest li');
    const before = Number(await page.textContent('#log-size'));
    const p = party('live-supplier');
    await node.attestations.submit(await signStatement(registration(p, ['supplier']), node.adminKey));
    await page.waitForFunction((n) => Number(document.querySelector('#log-size')?.textContent) > n, before, { timeout: 15_000 });
    expect(await page.textContent('#latest li')).toMatch(new RegExp(`#${before}`));
    await page.locator('#latest li button').first().click();
    await page.waitForSelector('#entry-detail pre');
    expect(await page.textContent('#entry-detail pre')).toContain('live-supplier');
    await page.screenshot({ path: join(SHOTS, 'log.png'), fullPage: true });
    await page.click('nav button[data-view=participants]');
    await page.waitForSelector('#participants tbody tr');
    expect(await page.textContent('#participants')).toMatch(/displaytech[\s\S]*revoked \(compromise\)/);
    await page.screenshot({ path: join(SHOTS, 'participants.png'), fullPage: true });
    await page.context().close();
  }, 60_000);

  it('is usable on a phone-sized screen and by keyboard alone', async () => {
    const page = await openPage(390, 844);
    await page.keyboard.press('Tab'); // focus moves through the page with the keyboard
    await page.focus('#udi');
    await page.keyboard.type(demo.passing[3]!);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.banner h2');
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H2');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.getAttribute('#udi', 'aria-describedby')).toBe('udi-help');
    await page.screenshot({ path: join(SHOTS, 'phone.png'), fullPage: true });
    await page.context().close();
  }, 60_000);
});
