/**
 * The hospital page, in real headless Chromium (Debian's chromium driven by playwright-core),
 * on a device whose firmware build was signed with an X.509 certificate (a test CA standing in
 * for Fulcio) rather than a registered key: the shared verifier, run in the page's worker, must
 * check the certificate chain and the identity and show the build as the identity's participant's.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPageVia } from './browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARTICIPANT_URI, TRUST_ROOT_URI, resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import { readPrivateKey } from '../../src/keys.js';
import { signEvidence } from '../../src/provenance/evidence.js';
import { identityId } from '../../src/trust/identity.js';
import { certificateBundle, testRekor } from '../cert-signing.js';
import { ORIGIN, startNode, type TestNode } from '../helpers.js';
import { startLyingServer, type LyingServer } from '../lying-server.js';
import { buildScenario, type Scenario } from '../provenance/scenario.js';
import { testCA, workflowLeaf } from '../x509-ca.js';

const GH = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'https://github.com/acme/pump-fw/.github/workflows/release.yml';
const ca = testCA();
const trustedRoot = { ...ca.trustedRoot, tlogs: [testRekor().tlog] };
const identity = { trustRoot: 'acme-sigstore', issuer: GH, subject: `${WORKFLOW}@refs/tags/*` };
const build = (sha: string) =>
  statement([{ name: 'pump-fw.bin', digest: { sha256: sha } }], resolvePredicateType('slsa-provenance').uri, {
    buildDefinition: { buildType: 'https://actions.github.io/buildtypes/workflow/v1', externalParameters: { workflow: { ref: 'refs/tags/v1.0.0', repository: 'https://github.com/acme/pump-fw', path: '.github/workflows/release.yml' } } },
    runDetails: { builder: { id: `${WORKFLOW}@refs/tags/v1.0.0` }, metadata: { invocationId: 'run-1' } },
  });

let node: TestNode;
let s: Scenario;
let browser: Browser;
let liar: LyingServer;
const admin = async (st: Record<string, unknown>) => node.attestations.submit(await signStatement(st, node.adminKey));


beforeAll(async () => {
  node = await startNode();
  // Every step of a passing device but the firmware build, which fw-ci signs with a certificate below.
  s = await buildScenario(node, { skip: ['build'] });
  await admin(statement([{ digest: { participant: 'trust-root:acme-sigstore' } }], TRUST_ROOT_URI, { name: 'acme-sigstore', trustedRoot, issuedAt: new Date().toISOString() }));
  await admin(statement([{ digest: { participant: 'fw-ci' } }], PARTICIPANT_URI, { id: 'fw-ci', organisation: 'fw-ci CI', roles: ['builder'], identities: [identity], issuedAt: new Date().toISOString() }));
  liar = await startLyingServer(node.url);
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await liar?.close();
  await node?.cleanup();
});

/** Opens the page as served by `liar` (honest unless told to lie), in a fresh browser profile. */
const openPage = (): Promise<Page> => openPageVia(browser, liar);

async function checkDevice(page: Page, udi: string): Promise<string> {
  await page.evaluate(() => document.querySelector('#result')?.replaceChildren());
  await page.fill('#udi', udi);
  await page.click('button[type=submit]');
  await page.waitForSelector('.banner h2', { timeout: 30_000 });
  return ((await page.textContent('.banner h2')) ?? '').trim();
}

describe('the hospital page on a device whose firmware build was signed with a certificate', () => {
  it('shows PASS once the certificate-signed build is logged, the build signed by the identity’s participant fw-ci; a swapped certificate is NOT VERIFIED', async () => {
    const page = await openPage();
    // Without the build the device is not cleared: the PASS below is the certificate-signed build's doing.
    expect(await checkDevice(page, s.udi)).toMatch(/INCOMPLETE/);
    expect(await page.textContent('.findings')).toMatch(/build provenance/i);

    await node.attestations.submit(certificateBundle(build(s.fw), workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v1.0.0`)));
    expect(await checkDevice(page, s.udi)).toMatch(/PASS — provenance verified, cleared for use/);
    expect(await page.locator('.rows li.row-problem').count()).toBe(0);
    const firmware = page.locator('.rows li', { hasText: 'firmware fw 1.0' });
    expect(await firmware.getAttribute('class')).toBe('row-ok');
    expect(await firmware.locator('.detail').textContent()).toMatch(/built by an attested build/);
    await firmware.locator('.more summary').click();
    const facts = await firmware.locator('.facts li').allTextContents();
    const builds = facts.filter((f) => f.includes(' · provenance/v1 · '));
    expect(builds).toHaveLength(1);
    // Signed by the participant the certificate's identity is registered to, under that identity's id.
    expect(builds[0]).toMatch(new RegExp(` · fw-ci · key ${identityId(identity).slice(0, 16)}…`));

    // A dishonest operator swaps in a certificate of the same identity from a CA of its own and
    // re-signs the package with the real log key: the page refuses it and shows nothing of it.
    const signer = ed25519NoteSigner(ORIGIN, await readPrivateKey(join(node.dir, 'log.key')));
    const impostor = testCA();
    liar.lie = {
      kind: 'tamper',
      mutate: (ev) => {
        const b = ev.bundles.find((x: any) => x.verificationMaterial.certificate);
        b.verificationMaterial.certificate.rawBytes = workflowLeaf(impostor.intermediate, `${WORKFLOW}@refs/tags/v1.0.0`).der.toString('base64');
        delete ev.signature;
        ev.signature = signEvidence(ev, signer).signature;
      },
    };
    expect(await checkDevice(page, s.udi)).toMatch(/NOT VERIFIED — do not deploy/);
    expect(await page.textContent('.problems')).toMatch(/entry \d+: the logged body names another signer/);
    expect(await page.locator('.rows, .findings, .card').count()).toBe(0);
    expect(await page.textContent('#result')).not.toMatch(/\bPASS\b/);

    // Honest again, the same browser passes it again.
    liar.lie = { kind: 'honest' };
    expect(await checkDevice(page, s.udi)).toMatch(/PASS/);
    await page.context().close();
  }, 90_000);
});
