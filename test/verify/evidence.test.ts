/**
 * The one evidence verifier checks what its caller expects: the device, the policy, the time,
 * the newest checkpoint seen, the maximum age, the trusted log. Real ledger, real signatures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/client/graphql.js';
import { parseCheckpoint, parseNote } from '../../src/log/index.js';
import type { EvidencePackage } from '../../src/provenance/evidence.js';
import { defaultPolicy, policyDigest } from '../../src/provenance/policy-io.js';
import { verifyEvidence, type CallerExpectations } from '../../src/verify/evidence.js';
import { join } from 'node:path';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import { readPrivateKey } from '../../src/keys.js';
import { signEvidence } from '../../src/provenance/evidence.js';
import { signEntryTimestamp } from '../../src/attest/rekor.js';
import { ORIGIN, startNode, type TestNode } from '../helpers.js';
import { buildScenario, type Scenario } from '../provenance/scenario.js';
import { udi } from '../attest/fixtures.js';

let node: TestNode;
let s: Scenario;
let pkg: EvidencePackage;
let root: unknown;
const now = () => Math.floor(Date.now() / 1000);
const expectFor = (over: Partial<CallerExpectations> = {}): CallerExpectations => ({ udi: s.udi, policy: defaultPolicy(), now: now(), ...over });
const evidence = async (u: string, fromSize?: number) =>
  (await graphql<{ device: { evidence: EvidencePackage } }>(node.url, 'query ($u: String!, $f: Int) { device(udi: $u) { evidence(fromSize: $f) } }', { u, f: fromSize ?? null })).device.evidence;
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

beforeAll(async () => {
  node = await startNode();
  s = await buildScenario(node, {});
  pkg = await evidence(s.udi);
  root = await (await fetch(`${node.url}/trusted_root.json`)).json();
}, 60_000);
afterAll(() => node.cleanup());

describe('the evidence verifier', () => {
  it('verifies and derives the outcome, the tree and the policy identity from verified bundles', () => {
    const r = verifyEvidence(pkg, root, expectFor());
    expect(r).toMatchObject({ udi: s.udi, outcome: 'PASS', policy: { name: defaultPolicy().name, digest: policyDigest(defaultPolicy()) }, bundles: pkg.bundles.length });
    expect((r.tree as { components: unknown[] }).components).toHaveLength(2);
  });

  it('accepts the device in any UDI form and refuses another device', () => {
    expect(verifyEvidence(pkg, root, expectFor({ udi: `https://id.gs1.org/01/09506000134352/21/DEV-1` })).udi).toBe(s.udi);
    expect(code(() => verifyEvidence(pkg, root, expectFor({ udi: udi('DEV-2') })))).toBe('EVIDENCE_WRONG_DEVICE');
    expect(code(() => verifyEvidence(pkg, root, expectFor({ udi: 'nonsense' })))).toBe('EVIDENCE_WRONG_DEVICE');
  });

  it('evaluates under the caller’s policy and clock, not the package’s', () => {
    const strict = { name: 'strict', steps: { installation: { required: true, participants: ['nobody'] } } };
    expect(verifyEvidence(pkg, root, expectFor({ policy: strict as never })).outcome).toBe('INCOMPLETE');
    // Two years on, the tests are older than the release policy allows (730 days).
    expect(verifyEvidence(pkg, root, expectFor({ now: now() + 800 * 86_400 })).evaluation.findings.map((f) => f.code)).toContain('EVIDENCE_TOO_OLD');
  });

  it('refuses evidence past the caller’s maximum age', () => {
    expect(code(() => verifyEvidence(pkg, root, expectFor({ now: pkg.evaluatedAt + 3600, maxAgeSeconds: 600 })))).toBe('EVIDENCE_EXPIRED');
    expect(verifyEvidence(pkg, root, expectFor({ now: pkg.evaluatedAt + 60, maxAgeSeconds: 600 })).outcome).toBe('PASS');
  });

  it('refuses evidence older than the newest checkpoint seen, a fork, and a missing or bad consistency proof', async () => {
    const cp = parseCheckpoint(parseNote(pkg.checkpoint).text);
    expect(code(() => verifyEvidence(pkg, root, expectFor({ newestSeen: { size: cp.size + 1, root: cp.root } })))).toBe('EVIDENCE_STALE');
    expect(code(() => verifyEvidence(pkg, root, expectFor({ newestSeen: { size: cp.size, root: new Uint8Array(32) } })))).toBe('LOG_FORKED');
    expect(verifyEvidence(pkg, root, expectFor({ newestSeen: { size: cp.size, root: cp.root } })).outcome).toBe('PASS');
    // Grow the log; a newer package must prove consistency with what was seen.
    await buildScenario(node, { another: { serial: 'DEV-9', parties: s.parties } });
    const newer = await evidence(s.udi);
    expect(code(() => verifyEvidence(newer, root, expectFor({ newestSeen: { size: cp.size, root: cp.root } })))).toBe('CONSISTENCY_MISSING');
    const proved = await evidence(s.udi, cp.size);
    expect(verifyEvidence(proved, root, expectFor({ newestSeen: { size: cp.size, root: cp.root } })).checkpoint.size).toBeGreaterThan(cp.size);
    const other = new Uint8Array(cp.root);
    other[0]! ^= 1;
    expect(code(() => verifyEvidence(proved, root, expectFor({ newestSeen: { size: cp.size, root: other } })))).toBe('CONSISTENCY_INVALID');
  });

  it('refuses a package from a log the caller does not trust, and a malformed trusted root', async () => {
    const other = await startNode();
    try {
      const otherRoot = await (await fetch(`${other.url}/trusted_root.json`)).json();
      // Another ledger of the same name: said as such, not as an altered package.
      expect(code(() => verifyEvidence(pkg, otherRoot, expectFor()))).toBe('UNTRUSTED_LOG');
      expect(() => verifyEvidence(pkg, otherRoot, expectFor())).toThrow(/signed by another key than the one your trusted root holds/);
    } finally {
      await other.cleanup();
    }
    expect(code(() => verifyEvidence(pkg, { tlogs: [] }, expectFor()))).toBe('UNTRUSTED_LOG');
    expect(code(() => verifyEvidence(pkg, 'nonsense', expectFor()))).toBe('TRUSTED_ROOT_INVALID');
  });

  it('checks every bundle even when the log key itself signed the package (a dishonest operator)', async () => {
    const logKey = await readPrivateKey(join(node.dir, 'log.key'));
    const signer = ed25519NoteSigner(ORIGIN, logKey);
    const resign = (mutate: (b: any) => void) => {
      const p = structuredClone(pkg) as any;
      const b = p.bundles.find((x: any) => JSON.parse(Buffer.from(x.dsseEnvelope.payload, 'base64').toString()).predicateType.includes('component'));
      mutate(b);
      delete p.signature;
      return signEvidence(p, signer);
    };
    const cases: Array<[string, (b: any) => void]> = [
      ['another statement', (b) => (b.dsseEnvelope.payload = Buffer.from(Buffer.from(b.dsseEnvelope.payload, 'base64').toString().replace('PS-100', 'PS-999')).toString('base64'))],
      ['another entry time', (b) => (b.verificationMaterial.tlogEntries[0].integratedTime = '1')],
      ['a signature for another body', (b) => (b.dsseEnvelope.signatures[0].sig = Buffer.from(Buffer.from(b.dsseEnvelope.signatures[0].sig, 'base64').map((x: number, i: number) => (i === 10 ? x ^ 1 : x))).toString('base64'))],
      ['another key hint', (b) => (b.verificationMaterial.publicKey.hint = 'f'.repeat(64))],
      ['a second log entry', (b) => b.verificationMaterial.tlogEntries.push(b.verificationMaterial.tlogEntries[0])],
    ];
    for (const [what, mutate] of cases) {
      expect(code(() => verifyEvidence(resign(mutate), root, expectFor())), what).toMatch(/^(BUNDLE_INVALID|SIGNER_UNKNOWN)$/);
    }
    // The untouched package, re-signed the same way, still verifies: the cases fail for their change alone.
    expect(verifyEvidence(resign(() => undefined), root, expectFor()).outcome).toBe('PASS');
  });

  it('refuses entries whose log-signed integration times run backwards in log order', async () => {
    const logKey = await readPrivateKey(join(node.dir, 'log.key'));
    const signer = ed25519NoteSigner(ORIGIN, logKey);
    const p = structuredClone(pkg) as any;
    p.bundles.sort((a: any, b: any) => Number(a.verificationMaterial.tlogEntries[0].logIndex) - Number(b.verificationMaterial.tlogEntries[0].logIndex));
    const last = p.bundles[p.bundles.length - 1].verificationMaterial.tlogEntries[0];
    // The operator re-signs the entry timestamp of the last entry with an earlier time.
    const earlier = Number(p.bundles[0].verificationMaterial.tlogEntries[0].integratedTime) - 100;
    const logId = Buffer.from(last.logId.keyId, 'base64');
    last.integratedTime = String(earlier);
    last.inclusionPromise.signedEntryTimestamp = signEntryTimestamp(logKey, logId, Buffer.from(last.canonicalizedBody, 'base64'), Number(last.logIndex), earlier).toString('base64');
    delete p.signature;
    expect(code(() => verifyEvidence(signEvidence(p, signer), root, expectFor()))).toBe('BUNDLE_INVALID');
  });
});
