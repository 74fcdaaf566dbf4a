/**
 * A dishonest ledger, built in the test with the real log key: it leaves a recall, a key
 * revocation or a component attestation out of a device's evidence and signs the package again.
 * The package's signatures are all genuine, and the verifier still refuses it, because the
 * checkpoint commits the ledger's verifiable index and the package must prove the complete list
 * for every key the verdict depends on (EVIDENCE_INCOMPLETE). `verify-evidence`, `verify-device`
 * (through a real lying server) and the one verifier all say NOT VERIFIED; honest packages pass.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePredicateType, REVOCATION_URI } from '../../src/attest/predicates.js';
import { graphql } from '../../src/client/graphql.js';
import { OUTCOME_EXIT } from '../../src/cli/device.js';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import { loadDemo, type DemoSummary } from '../../src/demo/demo.js';
import { readPrivateKey } from '../../src/keys.js';
import type { NoteSigner } from '../../src/log/index.js';
import { signEvidence, type EvidencePackage } from '../../src/provenance/evidence.js';
import { shippedReleasePolicy } from '../../src/provenance/release-policy.js';
import { verifyEvidence } from '../../src/verify/evidence.js';
import { runPedigree } from '../cli/run.js';
import { ORIGIN, startNode, type TestNode } from '../helpers.js';
import { startLyingServer, type LyingServer } from '../lying-server.js';

let node: TestNode;
let demo: DemoSummary;
let liar: LyingServer;
let root: unknown;
let logSigner: NoteSigner;
const now = () => Math.floor(Date.now() / 1000);
const ADVISORY = resolvePredicateType('advisory').uri;
const COMPONENT = resolvePredicateType('component').uri;

const evidence = async (udi: string) =>
  (await graphql<{ device: { evidence: EvidencePackage } }>(node.url, 'query ($u: String!) { device(udi: $u) { evidence } }', { u: udi })).device.evidence;
const statementOf = (b: any) => JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
const indexOf = (b: any) => Number(b.verificationMaterial.tlogEntries[0].logIndex);
/** What the dishonest operator does: edits the package, then signs it with the real log key. */
function dishonest(pkg: EvidencePackage, edit: (p: any) => void): EvidencePackage {
  const p = structuredClone(pkg) as any;
  edit(p);
  delete p.signature;
  return signEvidence(p, logSigner);
}
const without = (pkg: EvidencePackage, drop: (statement: any) => boolean) => dishonest(pkg, (p) => (p.bundles = p.bundles.filter((b: any) => !drop(statementOf(b)))));
const verdictOf = (pkg: unknown, udi: string) => {
  try {
    return verifyEvidence(pkg, root, { udi, policy: shippedReleasePolicy(), now: now() }).outcome;
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
};
const isRecall = (s: any) => s.predicateType === ADVISORY && s.predicate.kind === 'recall';

beforeAll(async () => {
  node = await startNode();
  demo = await loadDemo(node.attestations, node.adminKey, node.dir);
  liar = await startLyingServer(node.url);
  root = await (await fetch(`${node.url}/trusted_root.json`)).json();
  writeFileSync(join(node.dir, 'root.json'), JSON.stringify(root));
  logSigner = ed25519NoteSigner(ORIGIN, await readPrivateKey(join(node.dir, 'log.key')));
}, 120_000);
afterAll(async () => {
  await liar.close();
  await node.cleanup();
});

describe('a package that leaves something out, signed with the real log key', () => {
  it('missing the lot recall: the recalled device is refused, not passed (EVIDENCE_INCOMPLETE)', async () => {
    const udi = demo.recalled[0]!;
    const honest = await evidence(udi);
    expect(verdictOf(honest, udi)).toBe('RECALLED');
    expect(honest.bundles.some((b) => isRecall(statementOf(b)))).toBe(true);
    const hidden = without(honest, isRecall);
    expect(verdictOf(hidden, udi)).toMatch(/^EVIDENCE_INCOMPLETE: the ledger's own index lists entry \d+ about lot:.+, but the package leaves it out$/);
  });

  it('missing the key revocation: refused (EVIDENCE_INCOMPLETE), whichever list would have shown it', async () => {
    const udi = demo.failing.find((u) => u.endsWith('IP-000013'))!;
    expect(udi).toBeDefined();
    const honest = await evidence(udi);
    expect(verdictOf(honest, udi)).toBe('FAIL');
    const hidden = without(honest, (s) => s.predicateType === REVOCATION_URI);
    expect(verdictOf(hidden, udi)).toMatch(/^EVIDENCE_INCOMPLETE: .* about (registry|key:|participant:)/);
  });

  it('missing a component attestation: refused (EVIDENCE_INCOMPLETE)', async () => {
    const udi = demo.passing[0]!;
    const honest = await evidence(udi);
    expect(verdictOf(honest, udi)).toBe('PASS');
    let dropped = false;
    const hidden = without(honest, (s) => {
      if (dropped || s.predicateType !== COMPONENT) return false;
      return (dropped = true);
    });
    expect(dropped).toBe(true);
    expect(verdictOf(hidden, udi)).toMatch(/^EVIDENCE_INCOMPLETE: .* about (partSerial|lot):/);
  });

  it('also editing the list, dropping the lookup, or proving another key instead: refused', async () => {
    const udi = demo.recalled[0]!;
    const honest = await evidence(udi);
    const recall = honest.bundles.find((b) => isRecall(statementOf(b)))!;
    const r = indexOf(recall);
    const noRecall = (p: any) => (p.bundles = p.bundles.filter((b: any) => indexOf(b) !== r));
    // The list without the recall no longer matches the proof against the committed root.
    const edited = dishonest(honest, (p) => {
      noRecall(p);
      for (const l of p.lookups) l.indexes = l.indexes.filter((i: number) => i !== r);
    });
    expect(verdictOf(edited, udi)).toMatch(/^INDEX_PROOF_INVALID: /);
    // No lookup at all for the keys naming the recall.
    const dropped = dishonest(honest, (p) => {
      noRecall(p);
      p.lookups = p.lookups.filter((l: any) => !l.indexes.includes(r));
    });
    expect(verdictOf(dropped, udi)).toMatch(/^EVIDENCE_INCOMPLETE: the package does not prove which entries the ledger holds about /);
    // A genuine proof for some other key, relabelled.
    const relabelled = dishonest(honest, (p) => {
      noRecall(p);
      const donor = p.lookups.find((l: any) => !l.indexes.includes(r) && l.indexes.length > 0);
      for (const l of p.lookups) if (l.indexes.includes(r)) Object.assign(l, { indexes: donor.indexes, proof: donor.proof });
    });
    expect(verdictOf(relabelled, udi)).toMatch(/^(INDEX_PROOF_INVALID|EVIDENCE_INCOMPLETE): /);
    // No lookups at all.
    expect(verdictOf(dishonest(honest, (p) => delete p.lookups), udi)).toMatch(/^EVIDENCE_INCOMPLETE: /);
    // The untouched package, re-signed the same way, still verifies: each case fails for its change alone.
    expect(verdictOf(dishonest(honest, () => undefined), udi)).toBe('RECALLED');
  });
});

describe('the release gate and the offline verifier say NOT VERIFIED', () => {
  it('verify-evidence refuses the package without the recall (exit 6) and names the omission', async () => {
    const udi = demo.recalled[0]!;
    writeFileSync(join(node.dir, 'hidden.json'), JSON.stringify(without(await evidence(udi), isRecall)));
    const r = await runPedigree(node.dir, ['verify-evidence', 'hidden.json', '--trusted-root', 'root.json', '--udi', udi]);
    expect(r.code).toBe(OUTCOME_EXIT.NOT_VERIFIED);
    expect(r.stdout).toMatch(/^NOT VERIFIED — do not deploy/);
    expect(r.stdout).toMatch(/EVIDENCE_INCOMPLETE/);
    expect(r.stdout).toMatch(/left records about this device out/);
  }, 60_000);

  it('verify-device through a ledger that drops the recall refuses it (exit 6); through an honest one, RECALLED (exit 4)', async () => {
    const udi = demo.recalled[0]!;
    liar.lie = {
      kind: 'tamper',
      mutate: (e: any) => {
        const d = without(e, isRecall);
        for (const k of Object.keys(e)) delete e[k];
        Object.assign(e, d);
      },
    };
    const lied = await runPedigree(node.dir, ['verify-device', '--server', liar.url, '--trusted-root', 'root.json', '--udi', udi]);
    expect(lied.code).toBe(OUTCOME_EXIT.NOT_VERIFIED);
    expect(lied.stdout).toMatch(/EVIDENCE_INCOMPLETE/);
    liar.lie = { kind: 'honest' };
    const honest = await runPedigree(node.dir, ['verify-device', '--server', liar.url, '--trusted-root', 'root.json', '--udi', udi]);
    expect(honest.code).toBe(OUTCOME_EXIT.RECALLED);
  }, 60_000);
});
