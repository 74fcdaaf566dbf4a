/**
 * The update gate and firmware history, from real signed attestations on a real ledger served
 * over HTTP: every verdict below comes from the shared verifier checking a package the server
 * issued, against the image digest and model the caller gives.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { graphql } from '../../src/client/graphql.js';
import { readPrivateKey } from '../../src/keys.js';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import type { NoteSigner } from '../../src/log/index.js';
import { signEvidence, type EvidencePackage } from '../../src/provenance/evidence.js';
import { defaultPolicy, parsePolicy } from '../../src/provenance/policy-io.js';
import type { Policy } from '../../src/provenance/policy.js';
import { gtinCheckDigit } from '../../src/udi/udi.js';
import { verifyEvidence, verifyFirmwareEvidence } from '../../src/verify/evidence.js';
import { GTIN, party, registration, udi, type Party } from '../attest/fixtures.js';
import { ORIGIN, startNode, type TestNode } from '../helpers.js';

const t = (name: string) => resolvePredicateType(name).uri;
const gtin = (first13: string) => `${first13}${gtinCheckDigit(first13)}`;
const OTHER_MODEL = gtin('0950600013436');
const RIVAL_MODEL = gtin('0950600099999');
const CI = 'https://build.maker.example/builders/firmware';
const CVE = 'CVE-2023-0286';

let node: TestNode;
let root: unknown;
let logSigner: NoteSigner;
const p: Record<'maker' | 'rival' | 'ci' | 'qa' | 'cert' | 'dist' | 'hosp' | 'hosp2', Party> = {
  maker: party('maker'),
  rival: party('rival'),
  ci: party('maker-ci'),
  qa: party('qa-lab'),
  cert: party('health-cert'),
  dist: party('dist'),
  hosp: party('hospital'),
  hosp2: party('other-hospital'),
};
const submit = async (st: Record<string, unknown>, who: Party) => (await node.attestations.submit(await signStatement(st, who.privateKey))).record;
const bytes = (name: string) => Buffer.from(`${name} image bytes\n`);
const digestOf = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface ImageOptions {
  openssl?: string;
  gtins?: string[];
  builderId?: string;
  builder?: Party;
  tests?: 'PASSED' | 'FAILED';
}

/** Releases an image with build provenance, a CycloneDX SBOM and test results; returns its digest. */
async function image(name: string, version: string, o: ImageOptions = {}): Promise<string> {
  const d = digestOf(bytes(`${name}-${version}`));
  const subject = [{ name: `${name}-${version}.bin`, digest: { sha256: d } }];
  await submit(statement(subject, t('firmware'), { name, version, gtins: o.gtins ?? [GTIN], releasedAt: new Date().toISOString() }), p.maker);
  await submit(statement(subject, t('slsa-provenance'), { buildDefinition: { buildType: 'make', externalParameters: {} }, runDetails: { builder: { id: o.builderId ?? CI } } }), o.builder ?? p.ci);
  await submit(
    statement(subject, t('cyclonedx'), {
      bomFormat: 'CycloneDX',
      specVersion: '1.6',
      components: [
        { type: 'library', name: 'openssl', version: o.openssl ?? '3.0.8', purl: `pkg:generic/openssl@${o.openssl ?? '3.0.8'}` },
        { type: 'library', name: 'zlib', version: '1.3.1', purl: 'pkg:generic/zlib@1.3.1' },
      ],
    }),
    p.maker,
  );
  await submit(statement(subject, t('test-result'), { result: o.tests ?? 'PASSED', configuration: [] }), p.qa);
  return d;
}

async function vex(d: string, status: string, extra: Record<string, unknown> = {}) {
  await submit(
    statement([{ digest: { sha256: d } }], t('openvex'), { '@context': 'https://openvex.dev/ns/v0.2.0', author: 'maker', timestamp: new Date().toISOString(), statements: [{ vulnerability: { name: CVE }, subcomponents: [{ '@id': 'pkg:generic/openssl' }], status, ...extra }] }),
    p.maker,
  );
}

async function firmwarePackage(d: string, model: string, policy: Policy = defaultPolicy()): Promise<EvidencePackage> {
  const data = await graphql<{ firmwareImage: { evidence: EvidencePackage } }>(node.url, 'query ($s: String!, $m: String!, $p: JSON) { firmwareImage(sha256: $s, model: $m) { evidence(policy: $p) } }', { s: d, m: model, p: policy });
  return data.firmwareImage.evidence;
}

async function gate(d: string, model = GTIN, policy: Policy = defaultPolicy()) {
  return verifyFirmwareEvidence(await firmwarePackage(d, model, policy), root, { firmware: { sha256: d, model }, policy, now: Math.floor(Date.now() / 1000) });
}

const codes = (r: { evaluation: { findings: Array<{ code: string }> } }) => r.evaluation.findings.map((f) => f.code);
let good: string;
let vulnerable: string;

beforeAll(async () => {
  node = await startNode();
  root = await (await fetch(`${node.url}/trusted_root.json`)).json();
  logSigner = ed25519NoteSigner(ORIGIN, await readPrivateKey(join(node.dir, 'log.key')));
  const admin = async (st: Record<string, unknown>) => node.attestations.submit(await signStatement(st, node.adminKey));
  await admin(registration(p.maker, ['manufacturer'], { products: [GTIN, OTHER_MODEL] }));
  await admin(registration(p.rival, ['manufacturer'], { products: [RIVAL_MODEL] }));
  await admin(registration(p.ci, ['builder']));
  await admin(registration(p.qa, ['qa']));
  await admin(registration(p.cert, ['regulator']));
  await admin(registration(p.dist, ['distributor']));
  await admin(registration(p.hosp, ['hospital']));
  await admin(registration(p.hosp2, ['hospital']));
  // A regulator's vulnerability advisory on OpenSSL before 3.0.8.
  await submit(
    statement([{ name: CVE, digest: { vulnerability: CVE } }], t('advisory'), {
      id: CVE,
      kind: 'vulnerability',
      severity: 'high',
      title: 'X.400 address type confusion',
      issuedAt: new Date().toISOString(),
      vulnerability: { id: CVE },
      affects: { components: [{ purl: 'pkg:generic/openssl', range: 'vers:generic/>=3.0.0|<3.0.8' }] },
    }),
    p.cert,
  );
  vulnerable = await image('fw', '1.0', { openssl: '3.0.7' });
  good = await image('fw', '2.0', { openssl: '3.0.8' });
  await vex(vulnerable, 'affected', { action_statement: 'update to 2.0' });
  await vex(good, 'fixed');
});
afterAll(() => node.cleanup());

describe('the update gate', () => {
  it('passes a genuine image released for the model, built, described, tested and fixed', async () => {
    const r = await gate(good);
    expect(r.outcome).toBe('PASS');
    // OpenSSL 3.0.8 is outside the advisory's range: nothing to say about it.
    expect(codes(r)).toEqual([]);
    expect(r.graph.firmware.version).toBe('2.0');
  });

  it('fails an image with an unmitigated blocking vulnerability and names the fix', async () => {
    const r = await gate(vulnerable);
    expect(r.outcome).toBe('FAIL');
    const v = r.evaluation.findings.find((f) => f.code === 'VULNERABLE')!;
    expect(v.severity).toBe('error');
    expect(v.message).toContain('update available: fw 2.0');
    expect(r.evaluation.findings.find((f) => f.code === 'UPDATE_AVAILABLE')!.message).toContain(good);
    // A policy that only warns on vulnerabilities lets it through with the warning.
    const warn = parsePolicy({ ...defaultPolicy(), vulnerabilities: { unmitigated: 'warn' } });
    const w = await gate(vulnerable, GTIN, warn);
    expect(w.outcome).toBe('PASS');
    expect(w.evaluation.findings.find((f) => f.code === 'VULNERABLE')!.severity).toBe('warning');
  });

  it('does not pass an image built by a builder the policy does not allow, or built by another manufacturer', async () => {
    const rogue = await image('fw-rogue-build', '1.0', { builderId: 'https://rogue.example/builder' });
    const policy = parsePolicy({ ...defaultPolicy(), steps: { ...defaultPolicy().steps, build: { required: true, roles: ['builder'], builders: [CI] } } });
    const r = await gate(rogue, GTIN, policy);
    expect(r.outcome).toBe('INCOMPLETE');
    expect(codes(r)).toEqual(expect.arrayContaining(['SIGNER_NOT_ALLOWED', 'BUILD_MISSING']));
    expect((await gate(good, GTIN, policy)).outcome).toBe('PASS');
    const rival = await image('fw-rival-build', '1.0', { builder: p.rival });
    const r2 = await gate(rival);
    expect(r2.outcome).toBe('INCOMPLETE');
    expect(r2.evaluation.findings.find((f) => f.code === 'SIGNER_NOT_ALLOWED')!.message).toContain('rival is another manufacturer');
  });

  it('refuses build provenance from an unregistered builder at the door, so the image has no build', async () => {
    const stranger = party('stranger-ci');
    const d = digestOf(bytes('fw-stranger-1.0'));
    await expect(submit(statement([{ digest: { sha256: d } }], t('slsa-provenance'), { buildDefinition: { buildType: 'make', externalParameters: {} }, runDetails: { builder: { id: CI } } }), stranger)).rejects.toMatchObject({ code: 'SIGNER_UNKNOWN' });
    await submit(statement([{ digest: { sha256: d } }], t('firmware'), { name: 'fw-stranger', version: '1.0', gtins: [GTIN] }), p.maker);
    const r = await gate(d);
    expect(r.outcome).toBe('INCOMPLETE');
    expect(codes(r)).toContain('BUILD_MISSING');
  });

  it('fails an image whose tests failed', async () => {
    const r = await gate(await image('fw-failed', '1.0', { tests: 'FAILED' }));
    expect(r.outcome).toBe('FAIL');
    expect(codes(r)).toContain('TEST_FAILED');
  });

  it('fails an image never released for this model, and passes it for the model it was released for', async () => {
    const d = await image('fw-other-model', '1.0', { gtins: [OTHER_MODEL] });
    const r = await gate(d, GTIN);
    expect(r.outcome).toBe('FAIL');
    expect(codes(r)).toContain('FIRMWARE_NOT_RELEASED');
    expect((await gate(d, OTHER_MODEL)).outcome).toBe('PASS');
    // Nor can another manufacturer release it for a model it does not make.
    const rr = await gate(d, RIVAL_MODEL);
    expect(rr.outcome).toBe('FAIL');
    expect(rr.evaluation.findings.find((f) => f.code === 'FIRMWARE_NOT_RELEASED')!.message).toMatch(/released by maker, not by rival, who makes model/);
  });

  it('names a recalled image RECALLED', async () => {
    const d = await image('fw-recalled', '1.0');
    await submit(statement([{ digest: { sha256: d } }], t('advisory'), { id: 'RC-FW-1', kind: 'recall', severity: 'critical', title: 'Pump stops on dose change', issuedAt: new Date().toISOString(), affects: { firmwareDigests: [d] }, action: 'Do not install' }), p.maker);
    const r = await gate(d);
    expect(r.outcome).toBe('RECALLED');
    expect(r.recalls[0]!.id).toBe('RC-FW-1');
  });

  it('calls an image with one flipped byte UNKNOWN', async () => {
    const b = bytes('fw-2.0');
    expect(digestOf(b)).toBe(good);
    b[3]! ^= 0x01;
    const r = await gate(digestOf(b));
    expect(r.outcome).toBe('UNKNOWN');
    expect(r.evaluation.verdict).not.toBe('PASS');
  });

  it('refuses a genuine package about another image or another model (a lying server)', async () => {
    const pkg = await firmwarePackage(good, GTIN);
    const now = Math.floor(Date.now() / 1000);
    expect(() => verifyFirmwareEvidence(pkg, root, { firmware: { sha256: vulnerable, model: GTIN }, policy: defaultPolicy(), now })).toThrow(expect.objectContaining({ code: 'EVIDENCE_WRONG_DEVICE' }));
    expect(() => verifyFirmwareEvidence(pkg, root, { firmware: { sha256: good, model: OTHER_MODEL }, policy: defaultPolicy(), now })).toThrow(expect.objectContaining({ code: 'EVIDENCE_WRONG_DEVICE' }));
  });

  it('refuses a package re-signed by the operator without the vulnerability advisory or the VEX (nothing left out)', async () => {
    const pkg = await firmwarePackage(vulnerable, GTIN);
    const now = Math.floor(Date.now() / 1000);
    const statementOf = (b: any) => JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString());
    for (const drop of [(s: any) => s.predicate?.kind === 'vulnerability', (s: any) => s.predicateType === t('openvex')]) {
      const at = pkg.bundles.findIndex((b) => drop(statementOf(b)));
      expect(at).toBeGreaterThanOrEqual(0);
      const bundles = pkg.bundles.filter((_b, i) => i !== at);
      expect(bundles.length).toBe(pkg.bundles.length - 1);
      const forged = signEvidence({ ...pkg, bundles, signature: undefined }, logSigner);
      expect(() => verifyFirmwareEvidence(forged, root, { firmware: { sha256: vulnerable, model: GTIN }, policy: defaultPolicy(), now })).toThrow(expect.objectContaining({ code: 'EVIDENCE_INCOMPLETE' }));
    }
  });
});

describe('firmware history per device', () => {
  it('an update moves a device from FAIL to PASS and a downgrade back; only the maker or the holder may record one', async () => {
    const device = udi('FW-DEV-1');
    const subject = [{ digest: { udi: device } }];
    await submit(statement(subject, t('device-assembly'), { model: 'Pump', assembledAt: new Date().toISOString(), components: [{ componentType: 'valve', lot: 'sup:VALVE:L1' }], firmware: [{ name: 'fw', version: '1.0', digest: { sha256: vulnerable } }] }), p.maker);
    await submit(statement(subject, t('slsa-vsa'), { verifier: { id: 'gate' }, timeVerified: new Date().toISOString(), resourceUri: `udi:${device}`, policy: { uri: 'x' }, verificationResult: 'PASSED', verifiedLevels: [] }), p.maker);
    await submit(statement(subject, t('custody-transfer'), { from: 'maker', to: 'dist', transferredAt: new Date().toISOString() }), p.maker);
    await submit(statement(subject, t('custody-transfer'), { from: 'dist', to: 'hospital', transferredAt: new Date().toISOString() }), p.dist);
    const policy = parsePolicy({ ...defaultPolicy(), steps: { ...defaultPolicy().steps, component: { required: false } } });
    const check = async () => {
      const data = await graphql<{ device: { evidence: EvidencePackage } }>(node.url, 'query ($u: String!, $p: JSON) { device(udi: $u) { evidence(policy: $p) } }', { u: device, p: policy });
      return verifyEvidence(data.device.evidence, root, { udi: device, policy, now: Math.floor(Date.now() / 1000) });
    };
    const update = (from: string, to: string, version: string, who: Party) =>
      submit(statement(subject, t('firmware-update'), { firmware: 'fw', from: { digest: { sha256: from } }, to: { version, digest: { sha256: to } }, updatedAt: new Date().toISOString() }), who);

    const before = await check();
    expect(before.outcome).toBe('FAIL');
    expect(before.evaluation.firmware!.running).toEqual([vulnerable]);
    expect(codes(before)).toEqual(expect.arrayContaining(['VULNERABLE', 'UPDATE_AVAILABLE']));

    // A hospital that does not hold the device cannot say it was updated.
    await update(vulnerable, good, '2.0', p.hosp2);
    const stranger = await check();
    expect(stranger.outcome).toBe('FAIL');
    expect(stranger.evaluation.firmware!.running).toEqual([vulnerable]);
    expect(stranger.evaluation.findings.some((f) => f.code === 'SIGNER_NOT_ALLOWED' && f.step === 'update')).toBe(true);

    // An update from an image the device does not run is not applied.
    await update(good, good, '2.0', p.hosp);
    expect(codes(await check())).toContain('FIRMWARE_UPDATE_MISMATCH');

    await update(vulnerable, good, '2.0', p.hosp);
    const after = await check();
    expect(after.outcome).toBe('PASS');
    expect(after.evaluation.firmware!.running).toEqual([good]);
    expect(after.evaluation.firmware!.history.map((h) => [h.by, h.to])).toEqual([['hospital', good]]);
    expect((after.tree as { firmwareHistory: unknown[] }).firmwareHistory).toHaveLength(1);

    // The manufacturer's service downgrades it: vulnerable again.
    await update(good, vulnerable, '1.0', p.maker);
    const down = await check();
    expect(down.outcome).toBe('FAIL');
    expect(down.evaluation.firmware!.running).toEqual([vulnerable]);
    expect(down.evaluation.firmware!.history.map((h) => h.by)).toEqual(['hospital', 'maker']);
  });
});

describe('who may rule a vulnerability out', () => {
  it('another manufacturer re-releasing the image and stating not_affected neither passes it nor hides its devices', async () => {
    // Its own image, so that the maker's not_affected at the end touches no other test.
    const vulnerable = await image('fw-ruled-out', '1.0', { openssl: '3.0.7' });
    await vex(vulnerable, 'affected', { action_statement: 'update to 2.0' });
    const device = udi('FW-DEV-2');
    await submit(statement([{ digest: { udi: device } }], t('device-assembly'), { model: 'Pump', assembledAt: new Date().toISOString(), components: [{ componentType: 'valve', lot: 'sup:VALVE:L1' }], firmware: [{ name: 'fw-ruled-out', version: '1.0', digest: { sha256: vulnerable } }] }), p.maker);
    // The rival signs a release of the maker's image for the maker's model, and a VEX saying it is not affected.
    await submit(statement([{ digest: { sha256: vulnerable } }], t('firmware'), { name: 'fw-ruled-out', version: '1.0', gtins: [GTIN] }), p.rival);
    await submit(
      statement([{ digest: { sha256: vulnerable } }], t('openvex'), { '@context': 'https://openvex.dev/ns/v0.2.0', author: 'rival', timestamp: new Date().toISOString(), statements: [{ vulnerability: { name: CVE }, subcomponents: [{ '@id': 'pkg:generic/openssl' }], status: 'not_affected', justification: 'component_not_present' }] }),
      p.rival,
    );
    const r = await gate(vulnerable);
    expect(r.outcome).toBe('FAIL');
    expect(codes(r)).toContain('VULNERABLE');
    const affected = await graphql<{ affectedDevices: Array<{ udi: string }> }>(node.url, 'query ($u: String) { affectedDevices(purl: $u) { udi } }', { u: 'pkg:generic/openssl@3.0.7' });
    expect(affected.affectedDevices.map((d) => d.udi)).toContain(device);
    // The maker's own not_affected does rule it out, for the gate and for the blast radius.
    await vex(vulnerable, 'not_affected', { justification: 'vulnerable_code_not_in_execute_path' });
    expect((await gate(vulnerable)).outcome).toBe('PASS');
    const after = await graphql<{ affectedDevices: Array<{ udi: string }> }>(node.url, 'query ($u: String) { affectedDevices(purl: $u) { udi } }', { u: 'pkg:generic/openssl@3.0.7' });
    expect(after.affectedDevices.map((d) => d.udi)).not.toContain(device);
  });
});

describe('attacks on firmware and vulnerability answers', () => {
  const rnd = () => createHash('sha256').update(String(Math.random())).digest('hex');
  const affectedUdis = async (purl: string) => (await graphql<{ affectedDevices: Array<{ udi: string }> }>(node.url, 'query ($u: String) { affectedDevices(purl: $u) { udi } }', { u: purl })).affectedDevices.map((d) => d.udi);
  const assemble = async (serial: string, firmware: Array<{ name: string; sha256: string }>) => {
    const device = udi(serial);
    await submit(statement([{ digest: { udi: device } }], t('device-assembly'), { model: 'Pump', assembledAt: new Date().toISOString(), components: [{ componentType: 'valve', lot: 'sup:VALVE:L1' }], firmware: firmware.map((f) => ({ name: f.name, digest: { sha256: f.sha256 } })) }), p.maker);
    return device;
  };
  const policy = () => parsePolicy({ ...defaultPolicy(), steps: { ...defaultPolicy().steps, component: { required: false }, release: { required: false } } });
  const verdictOf = async (device: string) => {
    const data = await graphql<{ device: { evidence: EvidencePackage } }>(node.url, 'query ($u: String!, $p: JSON) { device(udi: $u) { evidence(policy: $p) } }', { u: device, p: policy() });
    return verifyEvidence(data.device.evidence, root, { udi: device, policy: policy(), now: Math.floor(Date.now() / 1000) });
  };

  it('a rival re-releasing the image for its own model and stating not_affected does not hide the maker’s devices', async () => {
    const img = await image('fw-f1', '1.0', { openssl: '3.0.7' });
    const device = await assemble('F1-1', [{ name: 'fw-f1', sha256: img }]);
    await submit(statement([{ digest: { sha256: img } }], t('firmware'), { name: 'fw-f1', version: '1.0', gtins: [RIVAL_MODEL] }), p.rival);
    await submit(statement([{ digest: { sha256: img } }], t('openvex'), { '@context': 'https://openvex.dev/ns/v0.2.0', author: 'rival', timestamp: new Date().toISOString(), statements: [{ vulnerability: { name: CVE }, subcomponents: [{ '@id': 'pkg:generic/openssl' }], status: 'not_affected', justification: 'component_not_present' }] }), p.rival);
    expect(await affectedUdis('pkg:generic/openssl@3.0.7')).toContain(device);
  });

  it('a firmware update counts if its signer held the device when it was made, whatever happened after', async () => {
    const device = await assemble('F2-1', [{ name: 'fw', sha256: good }]);
    const subject = [{ digest: { udi: device } }];
    const transfer = (from: string, to: string, who: Party) => submit(statement(subject, t('custody-transfer'), { from, to, transferredAt: new Date().toISOString() }), who);
    const update = (from: string, to: string, who: Party) => submit(statement(subject, t('firmware-update'), { firmware: 'fw', from: { digest: { sha256: from } }, to: { digest: { sha256: to } }, updatedAt: new Date().toISOString() }), who);
    await transfer('maker', 'hospital', p.maker);
    await update(good, vulnerable, p.hosp);
    await transfer('hospital', 'other-hospital', p.hosp);
    const r = await verdictOf(device);
    expect(r.evaluation.firmware!.running).toEqual([vulnerable]);
    expect(r.evaluation.firmware!.history.map((h) => h.by)).toEqual(['hospital']);
    expect(await affectedUdis('pkg:generic/openssl@3.0.7')).toContain(device);
    // The hospital that holds it now may update it; the one that gave it away may not.
    await update(vulnerable, good, p.hosp);
    expect((await verdictOf(device)).evaluation.firmware!.running).toEqual([vulnerable]);
    await update(vulnerable, good, p.hosp2);
    expect((await verdictOf(device)).evaluation.firmware!.running).toEqual([good]);
  });

  it('two images of one name are two slots: the vulnerable one is judged and found', async () => {
    const device = await assemble('F6-slots', [{ name: 'mcu', sha256: good }, { name: 'mcu', sha256: vulnerable }]);
    const r = await verdictOf(device);
    expect(r.evaluation.firmware!.running).toEqual([good, vulnerable]);
    expect(r.outcome).toBe('FAIL');
    expect(await affectedUdis('pkg:generic/openssl@3.0.7')).toContain(device);
  });

  it('a rival’s VEX "fixed" naming a thousand images adds nothing to the evidence; the maker’s nominations are capped', async () => {
    const img = await image('fw-f4', '1.0', { openssl: '3.0.7' });
    const before = await firmwarePackage(img, GTIN);
    await submit(statement([{ digest: { sha256: img } }], t('firmware'), { name: 'fw-f4', version: '1.0', gtins: [GTIN] }), p.rival);
    await submit(statement(Array.from({ length: 1000 }, () => ({ digest: { sha256: rnd() } })), t('openvex'), { '@context': 'https://openvex.dev/ns/v0.2.0', author: 'rival', timestamp: new Date().toISOString(), statements: [{ vulnerability: { name: CVE }, status: 'fixed' }] }), p.rival);
    const after = await firmwarePackage(img, GTIN);
    // Only the maker's own fix (2.0) is offered, before and after; the package is no larger.
    expect((await gate(img)).graph.available.map((f) => f.sha256)).toEqual([good]);
    expect(after.bundles.length).toBe(before.bundles.length + 2);
    // At most the rival's own participant and key lists join (none if it already signed something the package holds).
    expect(after.lookups.length).toBeLessThanOrEqual(before.lookups.length + 2);
    // The maker itself naming 40 fixes: at most 16 are offered (and proved).
    await submit(statement(Array.from({ length: 40 }, () => ({ digest: { sha256: rnd() } })), t('openvex'), { '@context': 'https://openvex.dev/ns/v0.2.0', author: 'maker', timestamp: new Date().toISOString(), statements: [{ vulnerability: { name: CVE }, status: 'fixed' }] }), p.maker);
    expect((await gate(img)).graph.available.length).toBe(16);
  });

  it('an SBOM from a builder that did not build the image does not count', async () => {
    const other = party('other-ci');
    await node.attestations.submit(await signStatement(registration(other, ['builder']), node.adminKey));
    const d = digestOf(bytes('fw-f6-sbom'));
    const subject = [{ digest: { sha256: d } }];
    await submit(statement(subject, t('firmware'), { name: 'fw-f6', version: '1.0', gtins: [GTIN] }), p.maker);
    await submit(statement(subject, t('slsa-provenance'), { buildDefinition: { buildType: 'make', externalParameters: {} }, runDetails: { builder: { id: CI } } }), p.ci);
    await submit(statement(subject, t('test-result'), { result: 'PASSED', configuration: [] }), p.qa);
    await submit(statement(subject, t('cyclonedx'), { bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ type: 'library', name: 'zlib', purl: 'pkg:generic/zlib@1.3.1' }] }), other);
    const r = await gate(d);
    expect(r.outcome).toBe('INCOMPLETE');
    expect(codes(r)).toContain('SBOM_MISSING');
  });

  it('refuses at the door what could not be read whole or matched: deep nesting, a range that reads two ways; reads a version given beside a bare purl', async () => {
    let deep: Record<string, unknown> = { type: 'library', name: 'openssl', purl: 'pkg:generic/openssl@3.0.7' };
    for (let i = 0; i < 40; i++) deep = { type: 'library', name: `wrap${i}`, components: [deep] };
    await expect(submit(statement([{ digest: { sha256: rnd() } }], t('cyclonedx'), { bomFormat: 'CycloneDX', specVersion: '1.6', components: [deep] }), p.maker)).rejects.toMatchObject({ code: 'PREDICATE_INVALID' });
    await expect(
      submit(statement([{ digest: { vulnerability: 'CVE-2099-1' } }], t('advisory'), { id: 'CVE-2099-1', kind: 'vulnerability', severity: 'high', title: 't', issuedAt: new Date().toISOString(), vulnerability: { id: 'CVE-2099-1' }, affects: { components: [{ purl: 'pkg:generic/openssl', range: 'vers:generic/<3.0.8|<3.0.2' }] } }), p.cert),
    ).rejects.toMatchObject({ code: 'PREDICATE_INVALID' });
    const d = await image('fw-bare', '1.0');
    await submit(statement([{ digest: { sha256: d } }], t('cyclonedx'), { bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ type: 'library', name: 'openssl', version: '3.0.7', purl: 'pkg:generic/openssl' }] }), p.maker);
    expect(codes(await gate(d))).toContain('VULNERABLE');
  });
});

describe('bounded VEX', () => {
  it('one manufacturer may make only so many VEX statements on one vulnerability', async () => {
    const small = await startNode({ maxPerSubject: 2 });
    try {
      const maker = party('maker');
      await small.attestations.submit(await signStatement(registration(maker, ['manufacturer'], { products: [GTIN] }), small.adminKey));
      const vexOn = async () =>
        small.attestations.submit(
          await signStatement(statement([{ digest: { sha256: createHash('sha256').update(String(Math.random())).digest('hex') } }], t('openvex'), { '@context': 'https://openvex.dev/ns/v0.2.0', author: 'maker', timestamp: new Date().toISOString(), statements: [{ vulnerability: { name: CVE }, status: 'under_investigation' }] }), maker.privateKey),
        );
      await vexOn();
      await vexOn();
      await expect(vexOn()).rejects.toMatchObject({ code: 'SUBJECT_QUOTA_EXCEEDED' });
    } finally {
      await small.cleanup();
    }
  });
});
