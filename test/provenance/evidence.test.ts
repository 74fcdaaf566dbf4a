/**
 * Evidence packages verify offline, re-derive the server's verdict, and fail after any change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint, parseNote } from '../../src/log/index.js';
import type { EvidencePackage } from '../../src/provenance/evidence.js';
import { verifyEvidence } from '../../src/verify/evidence.js';
import { defaultPolicy } from '../../src/provenance/policy-io.js';
import { graphql } from '../../src/client/graphql.js';
import { startNode, type TestNode } from '../helpers.js';
import { buildScenario, type Scenario } from './scenario.js';
import { signStatement } from '../../src/attest/sign.js';
import { componentStatement } from '../attest/fixtures.js';

let node: TestNode;
let s: Scenario;
let pkg: EvidencePackage;
let root: unknown;
const ex = () => ({ udi: s.udi, policy: defaultPolicy(), now: Math.floor(Date.now() / 1000) });

beforeAll(async () => {
  node = await startNode();
  s = await buildScenario(node, { compromiseSupplierFrom: '2020-01-01T00:00:00Z' });
  const data = await graphql<{ device: { evidence: EvidencePackage; verify: { verdict: string } } }>(node.url, 'query ($u: String!) { device(udi: $u) { evidence verify { verdict } } }', { u: s.udi });
  pkg = data.device.evidence;
  expect(data.device.verify.verdict).toBe(pkg.verdict.verdict);
  root = await (await fetch(`${node.url}/trusted_root.json`)).json();
});
afterAll(() => node.cleanup());

describe('evidence packages', () => {
  it('verify offline and re-derive the server verdict', () => {
    const r = verifyEvidence(pkg, root, ex());
    expect(r.evaluation.verdict).toBe('FAIL');
    expect(r.evaluation.findings.map((f) => f.code)).toEqual(pkg.verdict.findings.map((f) => f.code));
    expect(r.evaluation.findings.map((f) => f.code)).toContain('SIGNER_REVOKED');
    expect(r.bundles).toBe(pkg.bundles.length);
  });

  it('hold every bundle the verdict rests on, proved against one checkpoint', () => {
    const size = parseCheckpoint(parseNote(pkg.checkpoint).text).size;
    for (const b of pkg.bundles as any[]) {
      expect(b.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope).toBe(pkg.checkpoint);
      expect(Number(b.verificationMaterial.tlogEntries[0].inclusionProof.treeSize)).toBe(size);
    }
  });

  it('fail after changing any byte', () => {
    const text = JSON.stringify(pkg, null, 2);
    const positions = new Set<number>();
    // Every structural region gets hit: a spread of positions plus random ones.
    for (let i = 0; i < 150; i++) positions.add(Math.floor((i / 150) * text.length));
    for (let i = 0; i < 150; i++) positions.add(Math.floor(Math.random() * text.length));
    let checked = 0;
    for (const p of positions) {
      const bytes = Buffer.from(text);
      bytes[p]! ^= 0x01;
      let changed: unknown;
      try {
        changed = JSON.parse(bytes.toString());
      } catch {
        checked++;
        continue; // no longer JSON: verify-evidence refuses to read it at all
      }
      expect(() => verifyEvidence(changed, root, ex()), `byte ${p} (${JSON.stringify(text.slice(p - 10, p + 10))})`).toThrow();
      checked++;
    }
    expect(checked).toBe(positions.size);
  });

  it('fail when a bundle is dropped, or the verdict or policy is edited', () => {
    const drop = structuredClone(pkg);
    drop.bundles.pop();
    expect(() => verifyEvidence(drop, root, ex())).toThrow(expect.objectContaining({ code: 'EVIDENCE_TAMPERED' }));
    const lie = structuredClone(pkg);
    lie.verdict = { verdict: 'PASS', findings: [] };
    expect(() => verifyEvidence(lie, root, ex())).toThrow(expect.objectContaining({ code: 'EVIDENCE_TAMPERED' }));
  });

  it("fail against another ledger's trusted root", async () => {
    const other = await startNode();
    try {
      const otherRoot = await (await fetch(`${other.url}/trusted_root.json`)).json();
      expect(() => verifyEvidence(pkg, otherRoot, ex())).toThrow();
    } finally {
      await other.cleanup();
    }
  });

  it('carry a consistency proof from a checkpoint the client trusts', async () => {
    const earlier = parseCheckpoint(parseNote(pkg.checkpoint).text);
    await node.attestations.submit(await signStatement(componentStatement('sup-b', 'PS-200', ['SN9']), s.parties.other!.privateKey)); // grow the log
    const fresh = await node.devices.evidence(s.udi, defaultPolicy(), earlier.size);
    const r = verifyEvidence(fresh, root, { ...ex(), newestSeen: { size: earlier.size, root: earlier.root } });
    expect(r.checkpoint.size).toBeGreaterThan(earlier.size);
    const forged = { size: earlier.size, root: new Uint8Array(32) };
    expect(() => verifyEvidence(fresh, root, { ...ex(), newestSeen: forged })).toThrow(expect.objectContaining({ code: 'CONSISTENCY_INVALID' }));
  });
});
