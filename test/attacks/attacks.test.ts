/**
 * Attacks on the verdict, each against a real ledger over GraphQL on 127.0.0.1, each asserting
 * its outcome, the tree size before and after, and that no device verdict changed.
 *
 * - a stranger (no key) replays anything public in every unsigned variation;
 * - a registered participant oversteps its namespace or its authority;
 * - an administrator's registrations race each other.
 */
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { dsse } from '@sigstore/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_V02_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE } from '@sigstore/bundle';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { graphql, submitBundle } from '../../src/client/graphql.js';
import { spkiPem } from '../../src/trust/keys.js';
import { startNode, type TestNode } from '../helpers.js';
import { refusalCode, treeSizeOf, verdictOf } from './ledger-client.js';
import { buildScenario, type Scenario } from '../provenance/scenario.js';
import { componentStatement, party, registration, revocation, type Party } from '../attest/fixtures.js';

type Bundle = {
  mediaType: string;
  dsseEnvelope: { payload: string; payloadType: string; signatures: Array<{ sig: string; keyid: string }> };
  verificationMaterial: Record<string, unknown> & { tlogEntries?: unknown[] };
};

let node: TestNode;
const treeSize = () => treeSizeOf(node.url);
const verdict = (udi: string) => verdictOf(node.url, udi);
const refusedWith = (bundle: unknown) => refusalCode(node.url, bundle);
let s: Scenario;
const t = (name: string) => resolvePredicateType(name).uri;



type BatchResult = { __typename: 'SubmitAttestationPayload'; duplicate: boolean; attestation: { logIndex: number } } | { __typename: 'SubmissionError'; code: string };

async function submitBatch(bundles: unknown[]): Promise<BatchResult[]> {
  const d = await graphql<{ submitAttestations: BatchResult[] }>(
    node.url,
    'mutation ($b: [JSON!]!) { submitAttestations(bundles: $b) { __typename ... on SubmitAttestationPayload { duplicate attestation { logIndex } } ... on SubmissionError { code } } }',
    { b: bundles },
  );
  return d.submitAttestations;
}


async function logged(filter: Record<string, string> = {}): Promise<Array<{ logIndex: number; predicateType: string; bundle: Bundle }>> {
  const d = await graphql<{ entries: { edges: Array<{ node: { logIndex: number; predicateType: string; bundle: Bundle } }> } }>(
    node.url,
    'query ($f: EntryFilter) { entries(first: 100, filter: $f) { edges { node { logIndex predicateType bundle } } } }',
    { f: filter },
  );
  return d.entries.edges.map((e) => e.node);
}

// ECDSA malleability: (r, s) and (r, n − s) are both valid signatures (P-256 group order n).
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
function derInt(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let b = Buffer.from(hex, 'hex');
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.of(0), b]);
  return Buffer.concat([Buffer.of(0x02, b.length), b]);
}
function highLowS(sigB64: string): string {
  const der = Buffer.from(sigB64, 'base64');
  const rLen = der[3]!;
  const r = der.subarray(4, 4 + rLen);
  const sLen = der[5 + rLen]!;
  const sVal = BigInt(`0x${der.subarray(6 + rLen, 6 + rLen + sLen).toString('hex')}`);
  const body = Buffer.concat([Buffer.of(0x02, r.length), r, derInt(P256_N - sVal)]);
  return Buffer.concat([Buffer.of(0x30, body.length), body]).toString('base64');
}

/** The stored bundle without its log entry, as anyone can read it from the ledger. */
function bare(b: Bundle): Bundle {
  const c = structuredClone(b);
  c.verificationMaterial = { ...c.verificationMaterial, tlogEntries: [] };
  return c;
}

const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const VARIANTS: Array<[string, (b: Bundle) => Bundle]> = [
  ['a changed keyid', (b) => ({ ...bare(b), dsseEnvelope: { ...b.dsseEnvelope, signatures: [{ ...b.dsseEnvelope.signatures[0]!, keyid: 'attacker' }] } })],
  ['an empty keyid', (b) => ({ ...bare(b), dsseEnvelope: { ...b.dsseEnvelope, signatures: [{ ...b.dsseEnvelope.signatures[0]!, keyid: '' }] } })],
  ['(r, n−s)', (b) => ({ ...bare(b), dsseEnvelope: { ...b.dsseEnvelope, signatures: [{ ...b.dsseEnvelope.signatures[0]!, sig: highLowS(b.dsseEnvelope.signatures[0]!.sig) }] } })],
  [
    'an extra signature before the real one',
    (b) => {
      const pae = dsse.preAuthEncoding(b.dsseEnvelope.payloadType, Buffer.from(b.dsseEnvelope.payload, 'base64'));
      const extra = { sig: cryptoSign('sha256', pae, other.privateKey).toString('base64'), keyid: 'other' };
      return { ...bare(b), dsseEnvelope: { ...b.dsseEnvelope, signatures: [extra, ...b.dsseEnvelope.signatures] } };
    },
  ],
  ['the legacy v0.3 media type', (b) => ({ ...bare(b), mediaType: BUNDLE_V03_LEGACY_MEDIA_TYPE })],
  ['its completed tlog entry attached', (b) => structuredClone(b)],
  ['all of those at once', (b) => {
    const v = VARIANTS[3]![1](b);
    v.dsseEnvelope.signatures[1] = { keyid: 'x', sig: highLowS(v.dsseEnvelope.signatures[1]!.sig) };
    return { ...v, mediaType: BUNDLE_V03_LEGACY_MEDIA_TYPE };
  }],
];

beforeAll(async () => {
  node = await startNode();
  s = await buildScenario(node, { advisory: { kind: 'advisory', severity: 'low', on: 'lot' } });
  // One more kind for the replay test: a key revocation (of a supplier that signs nothing here).
  await node.attestations.submit(await signStatement(registration(party('retiree'), ['supplier']), node.adminKey));
  await node.attestations.submit(await signStatement(revocation('retiree', { reason: 'retired' }), node.adminKey));
}, 60_000);

afterAll(() => node.cleanup());

describe('a stranger replaying what is public', () => {
  it('gets the existing entry for every entry kind, in every unsigned variation, and nothing is written', async () => {
    const entries = await logged();
    const kinds = new Set(entries.map((e) => e.predicateType));
    expect(kinds.size).toBe(12); // every predicate type Pedigree accepts is in this log
    const before = await treeSize();
    const was = await verdict(s.udi);
    expect(was.verdict).toBe('PASS');
    for (const [name, vary] of VARIANTS) {
      const results = await submitBatch(entries.map((e) => vary(e.bundle)));
      results.forEach((r, i) => {
        expect(r, `${name} of entry ${entries[i]!.logIndex}`).toMatchObject({ __typename: 'SubmitAttestationPayload', duplicate: true, attestation: { logIndex: entries[i]!.logIndex } });
      });
    }
    expect(await treeSize()).toBe(before);
    expect(await verdict(s.udi)).toEqual(was);
  });

  it('is refused for another bundle version, and nothing is written', async () => {
    const [e] = await logged();
    const before = await treeSize();
    expect(await refusedWith({ ...bare(e!.bundle), mediaType: BUNDLE_V02_MEDIA_TYPE })).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await treeSize()).toBe(before);
  });

  it('gets the existing entry when the signer itself signs the same statement again (a fresh ECDSA signature)', async () => {
    const before = await treeSize();
    const again = await signStatement(statement([{ digest: { partSerial: s.partSerial } }], t('component'), { partNumber: 'PS-100', componentType: 'pressure-sensor' }), s.parties.supplier!.privateKey);
    const r = await submitBundle(node.url, again);
    expect(r.duplicate).toBe(true);
    expect(await treeSize()).toBe(before);
  });

  it('cannot grow a device past its limit: 500 variants of one attestation are 500 duplicates', async () => {
    const [component] = (await logged()).filter((e) => e.predicateType === t('component'));
    const before = await treeSize();
    const variants = Array.from({ length: 100 }, (_, i) => ({ ...bare(component!.bundle), dsseEnvelope: { ...component!.bundle.dsseEnvelope, signatures: [{ ...component!.bundle.dsseEnvelope.signatures[0]!, keyid: `k${i}` }] } }));
    for (let round = 0; round < 5; round++) {
      const results = await submitBatch(variants);
      expect(results.every((r) => r.__typename === 'SubmitAttestationPayload' && r.duplicate)).toBe(true);
    }
    expect(await treeSize()).toBe(before);
    expect((await verdict(s.udi)).verdict).toBe('PASS');
  });

  it('has no key, so its own recall of the device is refused and nothing is written', async () => {
    const stranger = party('stranger');
    const before = await treeSize();
    const recall = await signStatement(statement([{ digest: { udi: s.udi } }], t('advisory'), { id: 'FAKE-1', kind: 'recall', severity: 'critical', title: 'Fake recall', issuedAt: new Date().toISOString(), affects: { udis: [s.udi] } }), stranger.privateKey);
    expect(await refusedWith(recall)).toBe('SIGNER_UNKNOWN');
    expect(await treeSize()).toBe(before);
    expect((await verdict(s.udi)).verdict).toBe('PASS');
  });
});

describe('signed order, not log position', () => {
  it('a replayed PASSED release decision does not undo a later FAILED one', async () => {
    const dev = await buildScenario(node, { another: { serial: 'DEV-2', parties: s.parties } });
    const [passed] = await logged({ udi: dev.udi, predicateType: t('slsa-vsa') });
    expect((await verdict(dev.udi)).verdict).toBe('PASS');
    const failed = await signStatement(
      statement([{ digest: { udi: dev.udi } }], t('slsa-vsa'), { verifier: { id: 'gate' }, timeVerified: '2026-11-10T00:00:00Z', resourceUri: dev.udi, policy: {}, verificationResult: 'FAILED', verifiedLevels: [] }),
      s.parties.maker!.privateKey,
    );
    expect((await submitBundle(node.url, failed)).duplicate).toBe(false);
    const after = await verdict(dev.udi);
    expect(after.verdict).toBe('FAIL');
    expect(after.codes).toContain('RELEASE_FAILED');
    const before = await treeSize();
    expect(passed).toBeDefined();
    for (const [name, vary] of VARIANTS) expect((await submitBatch([vary(passed!.bundle)]))[0], name).toMatchObject({ duplicate: true, attestation: { logIndex: passed!.logIndex } });
    expect(await treeSize()).toBe(before);
    expect(await verdict(dev.udi)).toEqual(after);
  }, 60_000);

  it('refuses a new statement issued before the latest it would supersede, and one dated in the future', async () => {
    const before = await treeSize();
    const older = await signStatement(
      statement([{ digest: { udi: s.udi } }], t('slsa-vsa'), { verifier: { id: 'gate' }, timeVerified: '2026-10-01T00:00:00Z', resourceUri: s.udi, policy: {}, verificationResult: 'PASSED', verifiedLevels: [] }),
      s.parties.maker!.privateKey,
    );
    expect(await refusedWith(older)).toBe('STATEMENT_OUTDATED');
    const future = await signStatement(
      statement([{ digest: { udi: s.udi } }], t('installation'), { site: { name: 'Ward 9' }, installedAt: '2099-01-01T00:00:00Z' }),
      s.parties.hosp!.privateKey,
    );
    expect(await refusedWith(future)).toBe('STATEMENT_TIME_INVALID');
    expect(await treeSize()).toBe(before);
  });
});

describe('a registered participant overstepping its role', () => {
  it('cannot attest part serials or lots in another supplier’s namespace', async () => {
    const before = await treeSize();
    const other = s.parties.other!; // sup-b
    expect(await refusedWith(await signStatement(componentStatement('sup-a', 'PS-100', ['FAKE1']), other.privateKey))).toBe('NAMESPACE_NOT_OWNED');
    expect(await refusedWith(await signStatement(statement([{ digest: { lot: s.lot } }], t('component'), { partNumber: 'VALVE', componentType: 'valve', lot: 'L1' }), other.privateKey))).toBe('NAMESPACE_NOT_OWNED');
    expect(await refusedWith(await signStatement(statement([{ digest: { lot: s.lot } }], 'https://cyclonedx.org/bom', { bomFormat: 'CycloneDX', specVersion: '1.5' }), other.privateKey))).toBe('NAMESPACE_NOT_OWNED');
    expect(await treeSize()).toBe(before);
    expect((await verdict(s.udi)).verdict).toBe('PASS');
  });

  it('cannot write registrations or revocations', async () => {
    const before = await treeSize();
    const supplier = s.parties.supplier!;
    expect(await refusedWith(await signStatement(registration(party('sneaky'), ['manufacturer']), supplier.privateKey))).toBe('ROLE_NOT_ALLOWED');
    expect(await refusedWith(await signStatement(revocation('sup-b', { reason: 'compromise', effectiveTime: '2026-01-01T00:00:00Z' }), supplier.privateKey))).toBe('ROLE_NOT_ALLOWED');
    expect(await treeSize()).toBe(before);
  });

  it('can log a recall of a device or lot it has no part in, but it cannot fail the device', async () => {
    const was = await verdict(s.udi);
    const rival = party('rival-maker');
    await submitBundle(node.url, await signStatement(registration(rival, ['manufacturer']), node.adminKey));
    const recall = (id: string, subject: Record<string, string>, affects: Record<string, string[]>) =>
      statement([{ digest: subject }], t('advisory'), { id, kind: 'recall', severity: 'critical', title: 'Not yours to recall', issuedAt: new Date().toISOString(), affects });
    const before = await treeSize();
    // another supplier on someone else's lot, another supplier on the device, another manufacturer on the device
    expect((await submitBundle(node.url, await signStatement(recall('X-1', { lot: s.lot }, { lots: [s.lot] }), s.parties.other!.privateKey))).duplicate).toBe(false);
    expect((await submitBundle(node.url, await signStatement(recall('X-2', { udi: s.udi }, { udis: [s.udi] }), s.parties.other!.privateKey))).duplicate).toBe(false);
    expect((await submitBundle(node.url, await signStatement(recall('X-3', { udi: s.udi }, { udis: [s.udi] }), rival.privateKey))).duplicate).toBe(false);
    expect(await treeSize()).toBe(before + 3); // logged and shown ...
    const now = await verdict(s.udi);
    expect(now.verdict).toBe(was.verdict); // ... but not counted
    expect(now.codes.filter((c) => c === 'ADVISORY_NOT_AUTHORISED')).toHaveLength(3);
    expect(now.codes).not.toContain('RECALLED');
  });

  it('a recall does count from a regulator and from the device’s manufacturer (a supplier’s recall of its own lot: findings tests)', async () => {
    const regulator = party('regulator');
    await submitBundle(node.url, await signStatement(registration(regulator, ['regulator']), node.adminKey));
    const cases: Array<[string, Party, (d: Scenario) => [Record<string, string>, Record<string, string[]>]]> = [
      ['DEV-R1', regulator, (d) => [{ udi: d.udi }, { udis: [d.udi] }]],
      ['DEV-R2', s.parties.maker!, (d) => [{ udi: d.udi }, { udis: [d.udi] }]],
    ];
    for (const [serial, signer, target] of cases) {
      const d = await buildScenario(node, { another: { serial, parties: s.parties } });
      expect((await verdict(d.udi)).verdict).toBe('PASS');
      const [subject, affects] = target(d);
      await submitBundle(node.url, await signStatement(statement([{ digest: subject }], t('advisory'), { id: `R-${serial}`, kind: 'recall', severity: 'high', title: 'Recall', issuedAt: new Date().toISOString(), affects }), signer.privateKey));
      const v = await verdict(d.udi);
      expect(v.verdict, serial).toBe('FAIL');
      expect(v.codes).toContain('RECALLED');
    }
  }, 60_000);
});

describe('registrations race and replay', () => {
  it('an old registration replayed after a key change does not bring the old key back', async () => {
    const mover = party('mover');
    const first = await submitBundle(node.url, await signStatement(registration(mover, ['supplier']), node.adminKey));
    const digest = (await graphql<{ participants: Array<{ id: string; registration: string }> }>(node.url, '{ participants { id registration } }')).participants.find((p) => p.id === 'mover')!.registration;
    const next = party('mover');
    await submitBundle(node.url, await signStatement(registration(next, ['supplier'], { replaces: digest }), node.adminKey));
    const before = await treeSize();
    for (const [name, vary] of VARIANTS) expect((await submitBatch([vary(first.bundle as Bundle)]))[0], name).toMatchObject({ duplicate: true, attestation: { logIndex: first.logIndex } });
    expect(await treeSize()).toBe(before);
    expect(await refusedWith(await signStatement(componentStatement('mover', 'P', ['1']), mover.privateKey))).toBe('SIGNER_REVOKED');
    expect((await submitBundle(node.url, await signStatement(componentStatement('mover', 'P', ['1']), next.privateKey))).duplicate).toBe(false);
  });

  it('an old registration replayed after a demotion does not restore the role', async () => {
    const p = party('demoted');
    const first = await submitBundle(node.url, await signStatement(registration(p, ['supplier', 'manufacturer']), node.adminKey));
    const digest = (await graphql<{ participants: Array<{ id: string; registration: string }> }>(node.url, '{ participants { id registration } }')).participants.find((x) => x.id === 'demoted')!.registration;
    await submitBundle(node.url, await signStatement(registration(p, ['supplier'], { replaces: digest }), node.adminKey));
    const before = await treeSize();
    expect((await submitBundle(node.url, first.bundle)).duplicate).toBe(true);
    // The administrator's own stale update (made from the first registration) is refused too.
    expect(await refusedWith(await signStatement(registration(p, ['supplier', 'manufacturer'], { replaces: digest }), node.adminKey))).toBe('REGISTRATION_CONFLICT');
    expect(await treeSize()).toBe(before);
    const roles = (await graphql<{ participants: Array<{ id: string; roles: string[] }> }>(node.url, '{ participants { id roles } }')).participants.find((x) => x.id === 'demoted')!.roles;
    expect(roles).toEqual(['supplier']);
    const release = statement([{ digest: { udi: s.udi } }], t('slsa-vsa'), { verifier: { id: 'x' }, timeVerified: new Date().toISOString(), resourceUri: s.udi, policy: {}, verificationResult: 'PASSED', verifiedLevels: [] });
    expect(await refusedWith(await signStatement(release, p.privateKey))).toBe('ROLE_NOT_ALLOWED');
  });

  it('of two concurrent registrations of one key, exactly one is accepted', async () => {
    const shared = party('twin-a');
    const before = await treeSize();
    const results = await submitBatch([
      await signStatement(registration(shared, ['supplier']), node.adminKey),
      await signStatement(registration({ ...shared, id: 'twin-b' }, ['supplier']), node.adminKey),
    ]);
    expect(results.filter((r) => r.__typename === 'SubmitAttestationPayload' && !r.duplicate)).toHaveLength(1);
    expect(results.filter((r) => r.__typename === 'SubmissionError')).toEqual([{ __typename: 'SubmissionError', code: 'REGISTRATION_INVALID' }]);
    expect(await treeSize()).toBe(before + 1);
    const ids = (await graphql<{ participants: Array<{ id: string }> }>(node.url, '{ participants { id } }')).participants.map((p) => p.id);
    expect(ids.filter((id) => id.startsWith('twin-'))).toHaveLength(1);
  });

  it('of two concurrent updates made from the same registration, exactly one is accepted', async () => {
    const p = party('racer');
    await submitBundle(node.url, await signStatement(registration(p, ['supplier']), node.adminKey));
    const digest = (await graphql<{ participants: Array<{ id: string; registration: string }> }>(node.url, '{ participants { id registration } }')).participants.find((x) => x.id === 'racer')!.registration;
    const before = await treeSize();
    const results = await submitBatch([
      await signStatement(registration(p, ['supplier', 'qa'], { replaces: digest }), node.adminKey),
      await signStatement(registration(p, ['supplier', 'distributor'], { replaces: digest }), node.adminKey),
      await signStatement(registration(party('newcomer'), ['supplier']), node.adminKey),
      await signStatement(registration(party('newcomer'), ['hospital']), node.adminKey),
    ]);
    expect(results.map((r) => (r.__typename === 'SubmissionError' ? r.code : 'ok'))).toEqual(['ok', 'REGISTRATION_CONFLICT', 'ok', 'REGISTRATION_CONFLICT']);
    expect(await treeSize()).toBe(before + 2);
  });
});
