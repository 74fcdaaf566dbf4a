/**
 * End to end in real headless Chromium (Debian's chromium driven by playwright-core) against a
 * real server with the demo supply chain. Screenshots land in test-output/screenshots.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { graphql } from '../../src/client/graphql.js';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPageVia } from './browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStatement, statement } from '../../src/attest/sign.js';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { loadDemo, type DemoSummary } from '../../src/demo/demo.js';
import { ORIGIN, startNode, type TestNode } from '../helpers.js';
import { party, registration } from '../attest/fixtures.js';
import { readPrivateKey } from '../../src/keys.js';
import { startLyingServer, type LyingServer } from '../lying-server.js';
import { ed25519NoteSigner, ed25519Raw } from '../../src/crypto/node.js';
import { cosignatureVerifierKey } from '../../src/log/cosignature.js';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { signEvidence } from '../../src/provenance/evidence.js';

const SHOTS = join(import.meta.dirname, '..', '..', 'test-output', 'screenshots');
let node: TestNode;
let demo: DemoSummary;
let browser: Browser;
let liar: LyingServer;



beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  node = await startNode();
  demo = await loadDemo(node.attestations, node.adminKey, node.dir);
  liar = await startLyingServer(node.url);
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await liar?.close();
  await node?.cleanup();
});

/** Opens the page as served by `liar` (honest unless told to lie), in a fresh browser profile. */
const openPage = (width?: number, height?: number, path?: string): Promise<Page> => openPageVia(browser, liar, width, height, path);

async function checkDevice(page: Page, udi: string): Promise<string> {
  await page.fill('#udi', udi);
  await page.click('button[type=submit]');
  await page.waitForSelector('.banner h2', { timeout: 30_000 });
  return page.textContent('.banner h2').then((t) => (t ?? '').trim());
}

async function shoot(page: Page, name: string): Promise<void> {
  for (const [w, h] of [[1366, 1024], [390, 844]] as const) {
    await page.setViewportSize({ width: w, height: h });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `${name} scrolls sideways at ${w} px`).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SHOTS, `${name}-${w}.png`), fullPage: true });
  }
}

describe('the hospital page', () => {
  it('shows PASS for a passing device with a device card and a tree derived from verified entries', async () => {
    const page = await openPage();
    expect(await checkDevice(page, demo.passing[0]!)).toMatch(/PASS/);
    expect(await page.textContent('.card')).toMatch(/Model\s*InfuSafe 300[\s\S]*Manufacturer\s*infusion-corp[\s\S]*Serial\s*IP-000001[\s\S]*checkpoint \d+[\s\S]*InfuSafe release policy\s*sha256 [0-9a-f]{12}/);
    expect(await page.textContent('.checks summary')).toMatch(/Verified in this browser: \d+ signed entries against checkpoint \d+/);
    expect(await page.locator('.rows li').count()).toBeGreaterThanOrEqual(11);
    expect(await page.locator('.rows li.row-problem').count()).toBe(0);
    // It runs the firmware its hospital updated it to, with the update in its history.
    expect(await page.textContent('.rows')).toMatch(/firmware infusafe-fw 2\.4\.2/);
    expect(await page.textContent('.rows')).not.toMatch(/firmware infusafe-fw 2\.4\.1/);
    expect(await page.textContent('.rows')).toMatch(/firmware updates verified\s*infusafe-fw 2\.4\.1 → 2\.4\.2 by (city-hospital|st-elsewhere)/);
    expect(await page.textContent('#trust')).toMatch(/pinned/);
    // Log indexes and key IDs wait behind "details".
    expect(await page.locator('.rows li .more').first().isVisible()).toBe(true);
    expect(await page.locator('.rows li .facts').first().isVisible()).toBe(false);
    await page.locator('.rows li .more summary').first().click();
    expect(await page.locator('.rows li .facts').first().textContent()).toMatch(/entry \d+ .* key [0-9a-f]{16}…/);
    const [ev] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download evidence package' }).click()]);
    expect(ev.suggestedFilename()).toMatch(/\.evidence\.json$/);
    await shoot(page, 'device-pass');
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

  it('shows FAIL for the device with a component signed by a revoked key, the problem row first', async () => {
    const page = await openPage();
    expect(await checkDevice(page, demo.failing[0]!)).toMatch(/FAIL — do not deploy/);
    expect(await page.textContent('.findings')).toMatch(/revoked/);
    expect(await page.locator('.rows li').first().getAttribute('class')).toBe('row-problem');
    expect(await page.locator('.rows li').first().textContent()).toMatch(/display/);
    await shoot(page, 'device-fail');
    await page.context().close();
  }, 60_000);

  it('shows RECALLED at the top with the recall’s action, and the recall view lists exactly the affected devices', async () => {
    const page = await openPage();
    expect(await checkDevice(page, demo.recalled[0]!)).toMatch(/RECALLED — do not use/);
    expect(await page.textContent('.banner .recall')).toMatch(/Recall RC-2026-07: VALVE-7 seal may degrade.*Remove affected pumps from service/);
    expect(await page.locator('.rows li.row-problem').first().textContent()).toMatch(/valve/);
    await shoot(page, 'device-recalled');
    await page.click('nav button[data-view=recall]');
    await page.fill('#recall-value', demo.recalledLot);
    await page.click('#recall-form button[type=submit]');
    await page.waitForSelector('#recall-result table');
    const udis = await page.locator('#recall-result tbody tr td:first-child').allTextContents();
    expect(udis.sort()).toEqual([...demo.recalled].sort());
    await page.context().close();
  }, 60_000);

  it('shows INCOMPLETE for a device without a release decision, and UNKNOWN for one the ledger never saw', async () => {
    const page = await openPage();
    expect(await checkDevice(page, demo.incomplete[0]!)).toMatch(/INCOMPLETE/);
    expect(await checkDevice(page, '(01)09506000134352(21)NOT-A-PUMP')).toMatch(/UNKNOWN — this ledger has no record of this device; check the label/);
    expect(await page.locator('.rows').count()).toBe(0);
    await shoot(page, 'device-unknown');
    await page.context().close();
  }, 60_000);

  it('the address bar follows the device shown: links, back, forward and reload work', async () => {
    const page = await openPage(1366, 1024, `/?udi=${encodeURIComponent(demo.passing[2]!)}`);
    await page.waitForSelector('.banner h2');
    expect(await page.textContent('.banner .udi')).toBe(demo.passing[2]);
    await checkDevice(page, demo.failing[0]!);
    expect(new URL(page.url()).searchParams.get('udi')).toBe(demo.failing[0]);
    await checkDevice(page, 'https://id.gs1.org/01/09506000134352/21/IP-000021');
    expect(new URL(page.url()).searchParams.get('udi')).toBe(demo.recalled[0]);
    await page.goBack();
    await page.waitForFunction((u) => document.querySelector('.banner .udi')?.textContent === u, demo.failing[0]);
    expect(await page.textContent('.banner h2')).toMatch(/FAIL/);
    await page.goBack();
    await page.waitForFunction((u) => document.querySelector('.banner .udi')?.textContent === u, demo.passing[2]);
    await page.goForward();
    await page.waitForFunction((u) => document.querySelector('.banner .udi')?.textContent === u, demo.failing[0]);
    await page.reload();
    await page.waitForSelector('.banner h2');
    expect(await page.textContent('.banner .udi')).toBe(demo.failing[0]);
    expect(await page.textContent('.banner h2')).toMatch(/FAIL/);
    await page.context().close();
  }, 60_000);

  it('says what is wrong with a bare GTIN or a misspelt UDI, without asking the server', async () => {
    const page = await openPage();
    await page.fill('#udi', '(01)09506000134352');
    await page.click('button[type=submit]');
    await page.waitForSelector('#result .error');
    expect(await page.textContent('#result .error')).toMatch(/not a device UDI: .*serial/);
    await page.context().close();
  }, 60_000);
});

describe('firmware and components on the page', () => {
  it('checks a dropped firmware image in the browser: the fix passes, the vulnerable build fails with the update named, a damaged file is UNKNOWN', async () => {
    const page = await openPage();
    await page.click('nav button[data-view=firmware]');
    await page.fill('#firmware-model', demo.model);
    // Dropped on the section: hashed here, never uploaded.
    const uploads: string[] = [];
    page.on('request', (r) => {
      if ((r.postData() ?? '').length > 100_000) uploads.push(r.url());
    });
    const drop = async (name: string, bytes: Buffer) => {
      const dt = await page.evaluateHandle(([n, b]) => {
        const d = new DataTransfer();
        d.items.add(new File([new Uint8Array(b as number[])], n as string));
        return d;
      }, [name, [...bytes]] as const);
      await page.evaluate(() => document.querySelector('#firmware-result')?.replaceChildren());
      await page.dispatchEvent('#view-firmware', 'drop', { dataTransfer: dt });
      await page.waitForSelector('#firmware-result .banner h2', { timeout: 30_000 });
      return (await page.textContent('#firmware-result .banner h2'))!.trim();
    };
    expect(await drop('fixed.bin', readFileSync(demo.firmwareFiles.fixed))).toMatch(/PASS — this image may be flashed onto this model/);
    expect(await page.textContent('#firmware-result .card')).toContain('infusafe-fw 2.4.2');
    await shoot(page, 'firmware-pass');
    expect(await drop('old.bin', readFileSync(demo.firmwareFiles.vulnerable))).toMatch(/FAIL — do not flash/);
    expect(await page.textContent('#firmware-result .findings')).toMatch(/CVE-2023-0286.*update available: infusafe-fw 2\.4\.2/s);
    await shoot(page, 'firmware-fail');
    const damaged = readFileSync(demo.firmwareFiles.fixed);
    damaged[0]! ^= 1;
    expect(await drop('damaged.bin', damaged)).toMatch(/UNKNOWN/);
    expect(uploads).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('finds the devices running a vulnerable component, by version and by range, as GraphQL does', async () => {
    const q = 'query ($u: String, $r: String) { affectedDevices(purl: $u, range: $r) { udi firmware } }';
    const ask = async (u: string, r: string | null) => (await graphql<{ affectedDevices: Array<{ udi: string }> }>(node.url, q, { u, r })).affectedDevices.map((d) => d.udi).sort();
    expect(await ask(demo.purl, null)).toEqual([...demo.vulnerable].sort());
    expect(await ask('pkg:generic/openssl', demo.range)).toEqual([...demo.vulnerable].sort());
    // The fixed version runs on the updated devices; the bootloader's OpenSSL 3.0.7 is not_affected (VEX), so it adds none.
    expect(await ask('pkg:generic/openssl@3.0.8', null)).toEqual([...demo.updated].sort());
    const page = await openPage();
    await page.click('nav button[data-view=recall]');
    await page.selectOption('#recall-kind', 'purl');
    await page.fill('#recall-value', 'pkg:generic/openssl');
    await page.fill('#recall-range', demo.range);
    await page.click('#recall-form button[type=submit]');
    await page.waitForSelector('#recall-result table');
    expect((await page.locator('#recall-result tbody tr td:first-child').allTextContents()).sort()).toEqual([...demo.vulnerable].sort());
    expect(await page.locator('#recall-result tbody tr').first().textContent()).toContain('pkg:generic/openssl@3.0.7');
    await page.context().close();
  }, 60_000);
});

describe('the hospital page against a lying server', () => {
  async function notVerified(page: Page, why: RegExp): Promise<void> {
    expect(await page.textContent('.banner h2')).toMatch(/NOT VERIFIED — do not deploy/);
    expect(await page.textContent('.problems')).toMatch(why);
    // Nothing from the server is shown as if it were true.
    expect(await page.locator('.rows, .findings, .card').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Download evidence package' }).count()).toBe(0);
  }

  it('refuses another device’s genuine evidence for the scanned UDI', async () => {
    const page = await openPage();
    liar.lie = { kind: 'other-device', udi: demo.passing[0]! };
    await checkDevice(page, demo.recalled[0]!);
    await notVerified(page, /a different device than the one you asked about/);
    await shoot(page, 'not-verified-other-device');
    await page.context().close();
  }, 60_000);

  it('judges a lax-policy package under the page’s own policy: RECALLED, not PASS', async () => {
    const page = await openPage();
    liar.lie = { kind: 'lax-policy' };
    expect(await checkDevice(page, demo.recalled[1]!)).toMatch(/RECALLED/);
    expect(await page.textContent('.card')).toMatch(/InfuSafe release policy/);
    await page.context().close();
  }, 60_000);

  it('refuses a package without the lot recall, re-signed with the real log key (a dishonest ledger), and says what was left out', async () => {
    const page = await openPage();
    const signer = ed25519NoteSigner(ORIGIN, await readPrivateKey(join(node.dir, 'log.key')));
    liar.lie = {
      kind: 'tamper',
      mutate: (ev) => {
        ev.bundles = ev.bundles.filter((b: any) => {
          const st = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
          return !(st.predicateType.endsWith('/advisory/v1') && st.predicate.kind === 'recall');
        });
        delete ev.signature;
        ev.signature = signEvidence(ev, signer).signature;
      },
    };
    await checkDevice(page, demo.recalled[0]!);
    await notVerified(page, /left records about this device out of the evidence/);
    expect(await page.textContent('#result')).not.toMatch(/\bPASS\b/);
    await shoot(page, 'not-verified-incomplete');
    liar.lie = { kind: 'honest' };
    expect(await checkDevice(page, demo.recalled[0]!)).toMatch(/RECALLED/);
    await page.context().close();
  }, 60_000);

  it('requires the witnesses pinned in this browser: a checkpoint they did not cosign is NOT VERIFIED', async () => {
    // A witness this browser trusts, which never cosigned this ledger's checkpoints.
    const w = cosignatureVerifierKey('witness.test/page', ed25519Raw(createPublicKey(generateKeyPairSync('ed25519').privateKey)));
    const page = await openPage(1366, 1024, `/?witness=${encodeURIComponent(w)}`);
    await checkDevice(page, demo.passing[2]!);
    await notVerified(page, /not enough of the independent witnesses you require have confirmed this ledger history/);
    expect(await page.textContent('#trust')).toMatch(/1 of 1 witness required/);
    // Pinned: a later visit without the address parameter still requires it.
    await page.goto(`${liar.url}/`);
    await checkDevice(page, demo.passing[2]!);
    await notVerified(page, /WITNESS_MISSING/);
    await page.context().close();
    // A browser that pinned no witness is not affected.
    const plain = await openPage();
    expect(await checkDevice(plain, demo.passing[2]!)).toMatch(/PASS/);
    await plain.context().close();
  }, 60_000);

  it('refuses a stale package once the browser has seen a newer checkpoint', async () => {
    const page = await openPage();
    const device = demo.passing[5]!;
    expect(await checkDevice(page, device)).toMatch(/PASS/);
    const stale = await (await fetch(`${node.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'query ($u: String!) { device(udi: $u) { evidence } }', variables: { u: device } }) })).json() as { data: { device: { evidence: unknown } } };
    const maker = await readPrivateKey(join(demo.keysDir, 'infusion-corp.key'));
    await node.attestations.submit(await signStatement(statement([{ digest: { udi: device } }], resolvePredicateType('advisory').uri, { id: 'RC-PAGE', kind: 'recall', severity: 'high', title: 'Recalled after the first look', issuedAt: new Date().toISOString(), affects: { udis: [device] } }), maker));
    // The browser sees the newer checkpoint (checking any device), then the server replays the old package.
    expect(await checkDevice(page, demo.passing[6]!)).toMatch(/PASS/);
    liar.lie = { kind: 'replay', evidence: stale.data.device.evidence };
    await checkDevice(page, device);
    await notVerified(page, /older than what you have already seen/);
    liar.lie = { kind: 'honest' };
    expect(await checkDevice(page, device)).toMatch(/RECALLED/);
    await page.context().close();
  }, 60_000);

  it('never draws the server’s own tree: an edited provenance field changes nothing shown', async () => {
    const page = await openPage();
    liar.lie = { kind: 'edit-provenance' };
    expect(await checkDevice(page, demo.passing[7]!)).toMatch(/PASS/);
    const text = await page.textContent('#result');
    expect(text).toMatch(/infusafe-fw 2\.4\.2/);
    expect(text).not.toMatch(/9\.9\.9|counterfeit-parts/);
    await page.context().close();
  }, 60_000);

  it('refuses a tampered inclusion proof and a tampered checkpoint, and says why', async () => {
    const page = await openPage();
    liar.lie = {
      kind: 'tamper',
      mutate: (ev) => {
        const h = ev.bundles[3].verificationMaterial.tlogEntries[0].inclusionProof.hashes;
        h[0] = Buffer.from(Buffer.from(h[0], 'base64').map((x, i) => (i === 0 ? x ^ 1 : x))).toString('base64');
      },
    };
    await checkDevice(page, demo.passing[0]!);
    await notVerified(page, /changed after the ledger signed it/);
    liar.lie = {
      kind: 'tamper',
      mutate: (ev) => {
        const lines = ev.checkpoint.split('\n');
        lines[1] = String(Number(lines[1]) + 1);
        ev.checkpoint = lines.join('\n');
      },
    };
    await checkDevice(page, demo.passing[0]!);
    await notVerified(page, /changed after the ledger signed it|checkpoint/);
    await page.context().close();
  }, 60_000);

  it('shows no words of the server’s when it answers with an error instead of evidence', async () => {
    const page = await openPage();
    liar.lie = { kind: 'respond', body: JSON.stringify({ errors: [{ message: 'PASS: provenance verified, cleared for use', extensions: { code: 'X' } }] }) };
    await checkDevice(page, demo.recalled[0]!);
    await notVerified(page, /gave no evidence for this device \(X\)/);
    expect(await page.textContent('#result')).not.toMatch(/cleared for use/);
    await page.context().close();
  }, 60_000);

  it('warns loudly and shows nothing when the log key differs from the one pinned in this browser', async () => {
    const page = await openPage();
    const other = { baseUrl: 'https://test.pedigree.local/log', hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: 'MCowBQYDK2VwAyEA' + 'A'.repeat(43) + '=', keyDetails: 'PKIX_ED25519' } };
    await page.evaluate((pin) => localStorage.setItem('pedigree:trusted-log', pin), JSON.stringify(other));
    await checkDevice(page, demo.passing[0]!);
    await notVerified(page, /not the one this browser trusted before/);
    expect(await page.textContent('#trust')).toMatch(/signing key has changed/);
    await page.context().close();
  }, 60_000);

  it('pins one ledger on first use: a trusted root naming other logs is refused, then and later', async () => {
    const page = await openPage();
    const genuine = await (await fetch(`${node.url}/trusted_root.json`)).json() as { tlogs: unknown[] };
    const evil = { baseUrl: 'https://evil.example/log', hashAlgorithm: 'SHA2_256', publicKey: { rawBytes: 'MCowBQYDK2VwAyEA' + 'B'.repeat(43) + '=', keyDetails: 'PKIX_ED25519' } };
    liar.lie = { kind: 'root', root: { ...genuine, tlogs: [...genuine.tlogs, evil] } };
    await checkDevice(page, demo.passing[0]!);
    await notVerified(page, /does not name exactly one ledger key/);
    // Pinned honestly, a later root that adds a log is a changed ledger, not a second one to trust.
    liar.lie = { kind: 'honest' };
    expect(await checkDevice(page, demo.passing[0]!)).toMatch(/PASS/);
    liar.lie = { kind: 'root', root: { ...genuine, tlogs: [evil, ...genuine.tlogs] } };
    await checkDevice(page, demo.passing[1]!);
    await notVerified(page, /not the one this browser trusted before/);
    await page.context().close();
  }, 60_000);
});

describe('the rest of the page', () => {
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
    await page.click('nav button[data-view=participants]');
    await page.waitForSelector('#participants tbody tr');
    expect(await page.textContent('#participants')).toMatch(/displaytech[\s\S]*revoked \(compromise\)/);
    await page.context().close();
  }, 60_000);

  it('is usable on a phone-sized screen and by keyboard alone', async () => {
    const page = await openPage(390, 844);
    await page.keyboard.press('Tab');
    await page.focus('#udi');
    await page.keyboard.type(demo.passing[3]!);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.banner h2');
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H2');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.getAttribute('#udi', 'aria-describedby')).toBe('udi-help');
    await page.context().close();
  }, 60_000);
});
