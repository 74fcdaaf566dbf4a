/**
 * Attacks found by trying the first round of defences as a registered participant would; each
 * against a real ledger over GraphQL, asserting the outcome and the tree size.
 */
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { graphql, submitBundle } from '../../src/client/graphql.js';
import { publicPem } from '../../src/keys.js';
import { startNode, type TestNode } from '../helpers.js';
import { refusalCode, verdictOf } from './ledger-client.js';
import { buildScenario, type Scenario } from '../provenance/scenario.js';
import { componentStatement, party, registration, revocation, type Party } from '../attest/fixtures.js';

let node: TestNode;
let s: Scenario;
const t = (n: string) => resolvePredicateType(n).uri;
const QUOTA = 30;

beforeAll(async () => {
  node = await startNode({ maxPerSubject: QUOTA });
  s = await buildScenario(node, {});
}, 60_000);
afterAll(() => node.cleanup());

const verdict = (udi: string) => verdictOf(node.url, udi);
const refusedWith = (bundle: unknown) => refusalCode(node.url, bundle);
const admin = async (st: Record<string, unknown>) => submitBundle(node.url, await signStatement(st, node.adminKey));

/** The same P-256 key as SPKI with a compressed (0x02/0x03) or hybrid (0x06/0x07) point. */
function reencoded(p: Party, form: 'compressed' | 'hybrid'): string {
  const der = p.publicKey.export({ format: 'der', type: 'spki' });
  const x = der.subarray(der.length - 64, der.length - 32);
  const y = der.subarray(der.length - 32);
  const odd = y[31]! & 1;
  const prefix = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
  const point = form === 'compressed' ? Buffer.concat([Buffer.of(0x02 | odd), x]) : Buffer.concat([Buffer.of(0x06 | odd), x, y]);
  const spki = form === 'compressed' ? Buffer.concat([prefix, point]) : Buffer.concat([der.subarray(0, der.length - 65), point]);
  return `-----BEGIN PUBLIC KEY-----\n${spki.toString('base64')}\n-----END PUBLIC KEY-----\n`;
}

describe('second round', () => {
  it('a key registered in another encoding is refused: one key, one identity', async () => {
    const before = node.ledger.size;
    for (const form of ['compressed', 'hybrid'] as const) {
      const st = registration(party(`alias-${form}`), ['manufacturer']);
      (st.predicate as { publicKeys: string[] }).publicKeys = [reencoded(s.parties.maker!, form)];
      expect(await refusedWith(await signStatement(st, node.adminKey)), form).toBe('REGISTRATION_INVALID');
    }
    expect(node.ledger.size).toBe(before);
    // The CLI's re-encoding of a key read in compressed form is the canonical uncompressed one.
    const canonical = publicPem(createPublicKey(reencoded(s.parties.maker!, 'compressed')));
    expect(canonical).toBe(publicPem(s.parties.maker!.publicKey));
  });

  it('another manufacturer cannot sign a device’s assembly or release decision', async () => {
    const rival = party('rival-maker');
    await admin(registration(rival, ['manufacturer'], { products: ['00000000000017'] }));
    const was = await verdict(s.udi);
    const before = node.ledger.size;
    const assembly = statement([{ digest: { udi: s.udi } }], t('device-assembly'), { model: 'X', assembledAt: new Date().toISOString(), components: [{ componentType: 'valve', supplier: 'sup-a', lot: 'sup-a:VALVE:L1' }], firmware: [{ name: 'fw', digest: { sha256: s.fw } }] });
    expect(await refusedWith(await signStatement(assembly, rival.privateKey))).toBe('DEVICE_NOT_OWNED');
    const release = statement([{ digest: { udi: s.udi } }], t('slsa-vsa'), { verifier: { id: 'x' }, timeVerified: new Date().toISOString(), resourceUri: s.udi, policy: {}, verificationResult: 'FAILED', verifiedLevels: [] });
    expect(await refusedWith(await signStatement(release, rival.privateKey))).toBe('DEVICE_NOT_OWNED');
    expect(node.ledger.size).toBe(before);
    expect(await verdict(s.udi)).toEqual(was);
  });

  it('a statement from someone the policy does not allow for a step cannot fail the device', async () => {
    const was = await verdict(s.udi);
    expect(was.verdict).toBe('PASS');
    // The builder is not allowed to sign tests under the release policy.
    const test = statement([{ digest: { lot: s.lot } }], t('test-result'), { result: 'FAILED', configuration: [] });
    expect((await submitBundle(node.url, await signStatement(test, s.parties.ci!.privateKey))).duplicate).toBe(false);
    const now = await verdict(s.udi);
    expect(now.verdict).toBe('PASS');
    expect(now.codes).toContain('SIGNER_NOT_ALLOWED');
  });

  it(`one participant can make at most ${QUOTA} statements about one subject`, async () => {
    const qa = s.parties.qa!;
    const lot = 'sup-a:VALVE:L-QUOTA';
    const bundles = await Promise.all(Array.from({ length: QUOTA + 5 }, (_, i) => signStatement(statement([{ digest: { lot } }], t('test-result'), { result: 'PASSED', configuration: [{ name: `run-${i}` }] }), qa.privateKey)));
    const before = node.ledger.size;
    const d = await graphql<{ submitAttestations: Array<{ __typename: string; code?: string }> }>(
      node.url,
      'mutation ($b: [JSON!]!) { submitAttestations(bundles: $b) { __typename ... on SubmissionError { code } } }',
      { b: bundles },
    );
    expect(d.submitAttestations.filter((r) => r.__typename === 'SubmitAttestationPayload')).toHaveLength(QUOTA);
    expect(d.submitAttestations.filter((r) => r.code === 'SUBJECT_QUOTA_EXCEEDED')).toHaveLength(5);
    expect(node.ledger.size).toBe(before + QUOTA);
  });

  it('a participant cannot hold a device’s ordering scope to block another participant’s records', async () => {
    const soon = new Date(Date.now() + 290_000).toISOString();
    const mine = statement([{ digest: { udi: s.udi } }], t('custody-transfer'), { from: 'a', to: 'b', transferredAt: soon });
    expect((await submitBundle(node.url, await signStatement(mine, s.parties.dist!.privateKey))).duplicate).toBe(false);
    const theirs = statement([{ digest: { udi: s.udi } }], t('custody-transfer'), { from: 'b', to: 'hospital', transferredAt: new Date().toISOString() });
    expect((await submitBundle(node.url, await signStatement(theirs, s.parties.hosp!.privateKey))).duplicate).toBe(false);
  });

  it('a revocation dated with a leap second is refused and changes nothing; a real one then takes effect', async () => {
    const victim = party('leap-victim');
    await admin(registration(victim, ['supplier']));
    const before = node.ledger.size;
    const leap = await signStatement(revocation('leap-victim', { reason: 'retired', effectiveTime: '2026-12-31T23:59:60Z' }), node.adminKey);
    expect(await refusedWith(leap)).toBe('REGISTRATION_INVALID');
    expect(node.ledger.size).toBe(before);
    expect(node.attestations.registry.get('leap-victim')!.revocation).toBeUndefined();
    await admin(revocation('leap-victim', { reason: 'compromise', effectiveTime: '2020-01-01T00:00:00Z' }));
    expect(await refusedWith(await signStatement(componentStatement('leap-victim', 'P', ['1']), victim.privateKey))).toBe('SIGNER_REVOKED');
  });

  it('a digest key named like a built-in property is an ordinary key; a batch answers for each bundle alone', async () => {
    const supplier = s.parties.supplier!;
    const good = await signStatement(componentStatement('sup-a', 'PS-9', ['G1']), supplier.privateKey);
    const odd = await signStatement(statement([{ digest: { partSerial: 'sup-a:PS-9:G2', constructor: 'x', __proto__: 'y', toString: 'z' } as Record<string, string> }], t('component'), { partNumber: 'PS-9', componentType: 'c' }), supplier.privateKey);
    const bad = structuredClone(good) as { dsseEnvelope: { payload: string } };
    bad.dsseEnvelope.payload = Buffer.from('{"_type":').toString('base64');
    const d = await graphql<{ submitAttestations: Array<{ __typename: string; code?: string }> }>(
      node.url,
      'mutation ($b: [JSON!]!) { submitAttestations(bundles: $b) { __typename ... on SubmissionError { code } } }',
      { b: [good, odd, bad] },
    );
    expect(d.submitAttestations.map((r) => r.code ?? r.__typename)).toEqual(['SubmitAttestationPayload', 'SubmitAttestationPayload', 'SIGNATURE_INVALID']);
  });
});


describe('third round', () => {
  it('a device model has one manufacturer: a second claim, and a GTIN with a bad check digit, are refused', async () => {
    const before = node.ledger.size;
    expect(await refusedWith(await signStatement(registration(party('copycat'), ['manufacturer'], { products: ['09506000134352'] }), node.adminKey))).toBe('REGISTRATION_INVALID');
    expect(await refusedWith(await signStatement(registration(party('typo-maker'), ['manufacturer'], { products: ['09506000134353'] }), node.adminKey))).toBe('REGISTRATION_INVALID');
    expect(node.ledger.size).toBe(before);
  });

  it('an assembly that lists no firmware cannot pass a policy that requires firmware evidence', async () => {
    const d = await buildScenario(node, { another: { serial: 'DEV-NOFW', parties: s.parties } });
    const bare = statement([{ digest: { udi: d.udi } }], t('device-assembly'), { model: 'Pump', assembledAt: new Date().toISOString(), components: [{ componentType: 'valve', supplier: 'sup-a', lot: s.lot }], firmware: [] });
    await submitBundle(node.url, await signStatement(bare, s.parties.maker!.privateKey));
    const v = await verdict(d.udi);
    expect(v.verdict).toBe('INCOMPLETE');
    expect(v.codes).toEqual(expect.arrayContaining(['FIRMWARE_UNATTESTED', 'BUILD_MISSING', 'SBOM_MISSING', 'TEST_MISSING']));
  }, 60_000);

  it('the recall search refuses a lot or part serial that is not "<supplier>:<part>:<id>"', async () => {
    await expect(graphql(node.url, '{ affectedDevices(lot: "VALVE-7:L78") { udi } }')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/valveco:VALVE-7:L78/) });
  });
});

describe('fourth round', () => {
  it('an advisory counts against the quota of what it affects, not only of its subjects', async () => {
    const supplier = s.parties.supplier!;
    const lot = 'sup-a:VALVE:L-AFFECTS';
    const bundles = await Promise.all(
      Array.from({ length: QUOTA + 3 }, (_, i) =>
        signStatement(statement([{ digest: { sha256: i.toString(16).padStart(64, '0') } }], t('advisory'), { id: `N-${i}`, kind: 'advisory', severity: 'low', title: 'notice', issuedAt: new Date().toISOString(), affects: { lots: [lot] } }), supplier.privateKey),
      ),
    );
    const d = await graphql<{ submitAttestations: Array<{ __typename: string; code?: string }> }>(node.url, 'mutation ($b: [JSON!]!) { submitAttestations(bundles: $b) { __typename ... on SubmissionError { code } } }', { b: bundles });
    expect(d.submitAttestations.filter((r) => r.code === 'SUBJECT_QUOTA_EXCEEDED')).toHaveLength(3);
  });

  it('statements other than SBOMs are small: a 300 KB test result is refused', async () => {
    const big = statement([{ digest: { lot: s.lot } }], t('test-result'), { result: 'PASSED', configuration: [], log: 'x'.repeat(300 * 1024) });
    expect(await refusedWith(await signStatement(big, s.parties.qa!.privateKey))).toBe('BUNDLE_TOO_LARGE');
  });

  it('a key rotation does not revoke what the old key logged before it, in the same batch too', async () => {
    const p = party('rotator');
    const first = await admin(registration(p, ['supplier']));
    void first;
    const digest = node.attestations.registry.get('rotator')!.registration!;
    const next = party('rotator');
    const [attested, rotated] = await graphql<{ submitAttestations: Array<{ __typename: string; attestation?: { logIndex: number } }> }>(
      node.url,
      'mutation ($b: [JSON!]!) { submitAttestations(bundles: $b) { __typename ... on SubmitAttestationPayload { attestation { logIndex } } } }',
      { b: [await signStatement(componentStatement('rotator', 'R', ['1']), p.privateKey), await signStatement(registration(next, ['supplier'], { replaces: digest }), node.adminKey)] },
    ).then((d) => d.submitAttestations);
    expect(attested!.attestation!.logIndex).toBeLessThan(rotated!.attestation!.logIndex);
    const info = node.attestations.registry.signerInfo(p.keyId)!;
    const rec = (await node.attestations.record(attested!.attestation!.logIndex))!;
    const { revokedAt } = await import('../../src/provenance/policy.js');
    expect(info.revocations.some((r) => revokedAt(r, rec))).toBe(false);
    // A retirement cannot reach back: it takes effect when logged at the earliest.
    await admin(revocation('rotator', { reason: 'retired', effectiveTime: new Date(Date.now() - 200_000).toISOString() }));
    const rev = node.attestations.registry.get('rotator')!.revocation!;
    expect(rev.effectiveTime).toBeGreaterThanOrEqual(rec.integratedTime);
    expect(revokedAt(rev, rec)).toBe(false);
  });
});

describe('fifth round', () => {
  it('another manufacturer cannot fail a device’s tests (and would not count filling its steps)', async () => {
    const other = party('other-maker');
    await admin(registration(other, ['manufacturer'], { products: ['00000000000024'] }));
    const d = await buildScenario(node, { another: { serial: 'DEV-OTHER', parties: s.parties } });
    expect((await verdict(d.udi)).verdict).toBe('PASS');
    const failed = statement([{ digest: { udi: d.udi } }], t('test-result'), { result: 'FAILED', configuration: [] });
    await submitBundle(node.url, await signStatement(failed, other.privateKey));
    const v = await verdict(d.udi);
    expect(v.verdict).toBe('PASS');
    expect(v.codes).toContain('SIGNER_NOT_ALLOWED');
  }, 60_000);
});

describe('sixth round', () => {
  it('a hospital that does not hold a device cannot move it or redirect a recall notice', async () => {
    const d = await buildScenario(node, { another: { serial: 'DEV-CUSTODY', parties: s.parties } });
    const rogue = party('rogue-clinic');
    await admin(registration(rogue, ['hospital']));
    const before = await graphql<{ affectedDevices: Array<{ udi: string; installations: Array<{ summary: { site: { name: string } } }> }> }>(node.url, 'query ($f: String) { affectedDevices(firmwareDigest: $f) { udi installations } }', { f: d.fw });
    const site = (list: typeof before) => list.affectedDevices.find((x) => x.udi === d.udi)!.installations.at(-1)?.summary.site.name;
    expect(site(before)).toBe('Ward 1');
    await submitBundle(node.url, await signStatement(statement([{ digest: { udi: d.udi } }], t('installation'), { site: { name: 'Rogue Clinic' }, installedAt: new Date().toISOString() }), rogue.privateKey));
    await submitBundle(node.url, await signStatement(statement([{ digest: { udi: d.udi } }], t('custody-transfer'), { from: 'hospital', to: 'rogue-clinic', transferredAt: new Date().toISOString() }), rogue.privateKey));
    const after = await graphql<typeof before>(node.url, 'query ($f: String) { affectedDevices(firmwareDigest: $f) { udi installations } }', { f: d.fw });
    expect(site(after)).toBe('Ward 1');
    const v = await verdict(d.udi);
    expect(v.verdict).toBe('PASS');
    expect(v.codes.filter((c) => c === 'SIGNER_NOT_ALLOWED').length).toBeGreaterThanOrEqual(2);
    // The holder itself hands it on, and then the new holder's installation counts.
    await submitBundle(node.url, await signStatement(statement([{ digest: { udi: d.udi } }], t('custody-transfer'), { from: 'hospital', to: 'rogue-clinic', transferredAt: new Date().toISOString() }), s.parties.hosp!.privateKey));
    await submitBundle(node.url, await signStatement(statement([{ digest: { udi: d.udi } }], t('installation'), { site: { name: 'Rogue Clinic, now rightly' }, installedAt: new Date(Date.now() + 1000).toISOString() }), rogue.privateKey));
    const moved = await graphql<typeof before>(node.url, 'query ($f: String) { affectedDevices(firmwareDigest: $f) { udi installations } }', { f: d.fw });
    expect(site(moved)).toBe('Rogue Clinic, now rightly');
  }, 60_000);
});

describe('seventh round', () => {
  it('with no custody recorded, the device is with its manufacturer: no hospital’s installation counts', async () => {
    const d = await buildScenario(node, { another: { serial: 'DEV-NOCUSTODY', parties: s.parties }, skip: ['custody', 'installation'] });
    await submitBundle(node.url, await signStatement(statement([{ digest: { udi: d.udi } }], t('installation'), { site: { name: 'Fake ward' }, installedAt: new Date().toISOString() }), s.parties.hosp!.privateKey));
    const r = await graphql<{ device: { verify: { verdict: string; findings: Array<{ code: string }> } } }>(
      node.url,
      'query ($u: String!, $p: JSON) { device(udi: $u) { verify(policy: $p) { verdict findings { code message } } } }',
      { u: d.udi, p: { name: 'needs installation', steps: { installation: { required: true } }, requirePassingTests: false } },
    );
    expect(r.device.verify.findings.map((f) => f.code), JSON.stringify(r.device.verify.findings)).toEqual(expect.arrayContaining(['SIGNER_NOT_ALLOWED', 'INSTALLATION_MISSING']));
    expect(r.device.verify.verdict, JSON.stringify(r.device.verify.findings)).toBe('INCOMPLETE');
    const affected = await graphql<{ affectedDevices: Array<{ udi: string; installations: unknown[] }> }>(node.url, 'query ($f: String) { affectedDevices(firmwareDigest: $f) { udi installations } }', { f: d.fw });
    expect(affected.affectedDevices.find((x) => x.udi === d.udi)!.installations).toEqual([]);
  }, 60_000);

  it('a supplier’s SBOM about a device’s firmware does not count: it is carried (the evidence is complete) and the verdict stands', async () => {
    const d = await buildScenario(node, { another: { serial: 'DEV-SBOM', parties: s.parties } });
    const before = (await graphql<{ device: { evidence: { bundles: unknown[] } } }>(node.url, 'query ($u: String!) { device(udi: $u) { evidence } }', { u: d.udi })).device.evidence.bundles.length;
    const sbom = statement([{ digest: { sha256: d.fw } }], 'https://cyclonedx.org/bom', { bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ type: 'library', name: 'padding', version: 'x'.repeat(1000) }] });
    expect((await submitBundle(node.url, await signStatement(sbom, s.parties.other!.privateKey))).duplicate).toBe(false);
    const after = (await graphql<{ device: { evidence: { bundles: unknown[] } } }>(node.url, 'query ($u: String!) { device(udi: $u) { evidence } }', { u: d.udi })).device.evidence.bundles.length;
    // Filed under the firmware image, so a complete package carries it; the policy does not count it.
    expect(after).toBe(before + 1);
    expect((await verdict(d.udi)).verdict).toBe('PASS');
  }, 60_000);
});
