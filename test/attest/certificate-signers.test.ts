/**
 * Signers as the Sigstore world signs: participants registered by certificate identity under a
 * named trust root (a test CA standing in for Fulcio, with a test Rekor v1 log as a private
 * Sigstore instance's), their certificate-signed bundles verified, matched and logged like any
 * other, a device passing on a certificate-signed firmware build, and every way to bend it refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVOCATION_URI, TRUST_ROOT_URI, PARTICIPANT_URI, resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { verifyBundle } from '../../src/attest/verify.js';
import { AttestError } from '../../src/attest/errors.js';
import { graphql } from '../../src/client/graphql.js';
import type { EvidencePackage } from '../../src/provenance/evidence.js';
import { signEvidence } from '../../src/provenance/evidence.js';
import { defaultPolicy } from '../../src/provenance/policy-io.js';
import { identityId } from '../../src/trust/identity.js';
import { verifyEvidence } from '../../src/verify/evidence.js';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import { readPrivateKey } from '../../src/keys.js';
import { join } from 'node:path';
import { ORIGIN, startNode, type TestNode } from '../helpers.js';
import { AttestationService } from '../../src/attest/service.js';
import { loadDataDir } from '../../src/config/datadir.js';
import { certificateBundle, testRekor } from '../cert-signing.js';
import { makeCert, testCA, workflowLeaf } from '../x509-ca.js';
import { buildScenario, type Scenario } from '../provenance/scenario.js';
import { party, register } from './fixtures.js';

const GH = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'https://github.com/acme/pump-fw/.github/workflows/release.yml';
const ca = testCA();
const rekor = testRekor();
const trustedRoot = { ...ca.trustedRoot, tlogs: [rekor.tlog] };
const identity = { trustRoot: 'acme-sigstore', issuer: GH, subject: `${WORKFLOW}@refs/tags/*` };
const now = () => Math.floor(Date.now() / 1000);
const build = (sha: string, run = 1) =>
  statement([{ name: 'pump-fw.bin', digest: { sha256: sha } }], resolvePredicateType('slsa-provenance').uri, {
    buildDefinition: { buildType: 'https://actions.github.io/buildtypes/workflow/v1', externalParameters: { workflow: { ref: 'refs/tags/v2.0.0', repository: 'https://github.com/acme/pump-fw', path: '.github/workflows/release.yml' } } },
    runDetails: { builder: { id: `${WORKFLOW}@refs/tags/v2.0.0` }, metadata: { invocationId: `run-${run}` } },
  });

let node: TestNode;
let s: Scenario;
const admin = async (st: Record<string, unknown>) => node.attestations.submit(await signStatement(st, node.adminKey));
const code = async (p: Promise<unknown>) => p.then(() => 'ACCEPTED', (e: unknown) => (e instanceof AttestError ? e.code : Promise.reject(e)));
/** The ledger's clock: the trust root and identity are registered four hours ago, before the certificates below were used. */
let offset = 0;
const clock = () => Date.now() + offset;
const trustRootStatement = (name: string, root: unknown) => statement([{ digest: { participant: `trust-root:${name}` } }], TRUST_ROOT_URI, { name, trustedRoot: root, issuedAt: new Date(clock()).toISOString() });
const identityRegistration = (id: string, identities: unknown[], extra: Record<string, unknown> = {}) =>
  statement([{ digest: { participant: id } }], PARTICIPANT_URI, { id, organisation: `${id} CI`, roles: ['builder'], identities, issuedAt: new Date(clock()).toISOString(), ...extra });
const evidence = async (u: string) => (await graphql<{ device: { evidence: EvidencePackage } }>(node.url, 'query ($u: String!) { device(udi: $u) { evidence } }', { u })).device.evidence;
let ledgerRoot: unknown;

beforeAll(async () => {
  node = await startNode({ clock });
  offset = -4 * 3600_000;
  await admin(trustRootStatement('acme-sigstore', trustedRoot));
  await admin(identityRegistration('fw-ci', [identity]));
  offset = 0;
  s = await buildScenario(node, { skip: ['build'] });
  ledgerRoot = node.attestations.trustedRoot();
}, 60_000);
afterAll(() => node.cleanup());

describe('participants registered by certificate identity', () => {
  it('logs a firmware build signed with a workflow certificate, as that participant, keeping the certificate', async () => {
    const leaf = workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v2.0.0`);
    const r = await node.attestations.submit(certificateBundle(build('aa'.repeat(32)), leaf));
    expect(r.duplicate).toBe(false);
    expect(r.record).toMatchObject({ signer: 'fw-ci', keyId: identityId(identity), predicateType: resolvePredicateType('slsa-provenance').uri });
    const vm = r.bundle.verificationMaterial as { certificate?: { rawBytes: string }; tlogEntries: unknown[] };
    expect(vm.certificate?.rawBytes).toBe(leaf.der.toString('base64'));
    expect(vm.tlogEntries).toHaveLength(1);
    // The completed bundle verifies with stock @sigstore/verify, given both roots.
    const v = verifyBundle(r.bundle, [trustedRoot, ledgerRoot], { identity: { subject: `${WORKFLOW}@refs/tags/v2.0.0`, issuer: GH }, ctlogThreshold: 0 });
    expect(v.logIndex).toBe(r.record.logIndex);
    // The same statement from the same identity is the same attestation, whatever certificate carries it.
    const again = await node.attestations.submit(certificateBundle(build('aa'.repeat(32)), workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v2.0.0`)));
    expect(again).toMatchObject({ duplicate: true, record: { logIndex: r.record.logIndex } });
  });

  it('refuses, writing nothing, every certificate that is not the registered identity’s', async () => {
    const size = node.ledger.size;
    const stmt = build('bb'.repeat(32));
    const impostor = testCA();
    const hour = 3600_000;
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['a branch the pattern does not cover', certificateBundle(stmt, workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/heads/main`)), 'SIGNER_UNKNOWN'],
      ['another repository', certificateBundle(stmt, workflowLeaf(ca.intermediate, 'https://github.com/evil/pump-fw/.github/workflows/release.yml@refs/tags/v2.0.0')), 'SIGNER_UNKNOWN'],
      ['another OIDC issuer', certificateBundle(stmt, workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v2.0.0`, 'https://issuer.evil.example')), 'SIGNER_UNKNOWN'],
      ['the right identity from another CA', certificateBundle(stmt, workflowLeaf(impostor.intermediate, `${WORKFLOW}@refs/tags/v2.0.0`)), 'UNTRUSTED_ROOT'],
      ['an expired certificate', certificateBundle(stmt, makeCert({ cn: 'sigstore', issuer: ca.intermediate, notBefore: Date.now() - 2 * hour, notAfter: Date.now() - hour, uris: [`${WORKFLOW}@refs/tags/v2.0.0`], oidcIssuer: GH })), 'CERTIFICATE_NOT_VALID_AT_SIGNING'],
      ['a signature by another key', certificateBundle(stmt, workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v2.0.0`), { signWith: workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v2.0.0`) }), 'SIGNATURE_INVALID'],
      ['a CA certificate as the signer', certificateBundle(stmt, makeCert({ cn: 'sigstore', issuer: ca.intermediate, ca: true, notBefore: Date.now() - hour, notAfter: Date.now() + hour, uris: [`${WORKFLOW}@refs/tags/v2.0.0`], oidcIssuer: GH })), 'UNTRUSTED_ROOT'],
    ];
    for (const [why, bundle, want] of cases) expect(`${why}: ${await code(node.attestations.submit(bundle))}`).toBe(`${why}: ${want}`);
    expect(node.ledger.size).toBe(size);
  });

  it('accepts a certificate expired by now when its own Rekor entry shows it was used while valid; not without, nor with a forged one', async () => {
    const minute = 60_000;
    const t0 = Date.now() - 60 * minute;
    const leaf = makeCert({ cn: 'sigstore', issuer: ca.intermediate, notBefore: t0, notAfter: t0 + 10 * minute, uris: [`${WORKFLOW}@refs/tags/v2.0.1`], oidcIssuer: GH });
    const stmt = build('cc'.repeat(32));
    const within = Math.floor((t0 + 5 * minute) / 1000);
    // After the certificate expired: no verified time; from a log the trust root does not name: refused for that.
    expect(await code(node.attestations.submit(certificateBundle(stmt, leaf, { rekor: { log: rekor, time: within + 3600 } })))).toBe('CERTIFICATE_NOT_VALID_AT_SIGNING');
    expect(await code(node.attestations.submit(certificateBundle(stmt, leaf, { rekor: { log: testRekor(), time: within } })))).toBe('TIMESTAMP_INVALID');
    const forged = certificateBundle(stmt, leaf, { rekor: { log: rekor, time: within } });
    const entry = (forged.verificationMaterial as { tlogEntries: Array<Record<string, unknown>> }).tlogEntries[0]!;
    entry.integratedTime = String(within + 1);
    expect(await code(node.attestations.submit(forged))).toBe('CERTIFICATE_NOT_VALID_AT_SIGNING');
    const r = await node.attestations.submit(certificateBundle(stmt, leaf, { rekor: { log: rekor, time: within } }));
    expect(r.record.signer).toBe('fw-ci');
    // It keeps its own entry beside the ledger's.
    expect((r.bundle.verificationMaterial as { tlogEntries: unknown[] }).tlogEntries).toHaveLength(2);
  });

  it('checks what a bundle brings with the stock verifier: a valid certificate with a foreign log entry is refused', async () => {
    const leaf = workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v2.0.2`);
    const foreign = certificateBundle(build('dd'.repeat(32)), leaf, { rekor: { log: testRekor(), time: now() - 10 } });
    expect(await code(node.attestations.submit(foreign))).toBe('TIMESTAMP_INVALID');
  });

  it('guards the registry: roots by the administrator only, names for ever, identities under registered roots and owned once', async () => {
    const outsider = party('outsider');
    await register(node.url, node.adminKey, outsider, ['builder']);
    expect(await code(node.attestations.submit(await signStatement(trustRootStatement('mine', trustedRoot), outsider.privateKey)))).toBe('ROLE_NOT_ALLOWED');
    expect(await code(admin(trustRootStatement('acme-sigstore', testCA().trustedRoot)))).toBe('REGISTRATION_INVALID');
    expect(await code(admin(trustRootStatement('empty', { ...trustedRoot, certificateAuthorities: [] })))).toBe('PREDICATE_INVALID');
    expect(await code(admin(trustRootStatement('broken', { ...trustedRoot, certificateAuthorities: [{ certChain: { certificates: [{ rawBytes: 'AAAA' }] }, validFor: { start: '2020-01-01T00:00:00Z' } }] })))).toBe('REGISTRATION_INVALID');
    expect(await code(admin(identityRegistration('nowhere-ci', [{ ...identity, trustRoot: 'not-registered' }])))).toBe('REGISTRATION_INVALID');
    expect(await code(admin(identityRegistration('copycat-ci', [identity])))).toBe('REGISTRATION_INVALID');
    expect(await code(admin(identityRegistration('greedy-ci', [{ ...identity, subject: '*' }])))).toBe('REGISTRATION_INVALID');
    // Two participants whose patterns overlap: a certificate both match is refused, not given to either.
    await admin(identityRegistration('broad-ci', [{ ...identity, subject: 'https://github.com/acme/*' }]));
    expect(await code(node.attestations.submit(certificateBundle(build('ee'.repeat(32)), workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v9`))))).toBe('IDENTITY_AMBIGUOUS');
    await admin(statement([{ digest: { participant: 'broad-ci' } }], REVOCATION_URI, { participantId: 'broad-ci', reason: 'retired', issuedAt: new Date().toISOString() }));
  });
});

describe('a device whose firmware build was signed with a certificate', () => {
  it('PASSes offline on the shared verifier, the build signed by the identity’s participant; a forged certificate in the package is refused', async () => {
    const before = verifyEvidence(await evidence(s.udi), ledgerRoot, { udi: s.udi, policy: defaultPolicy(), now: now() });
    expect(before.outcome).not.toBe('PASS');
    await node.attestations.submit(certificateBundle(build(s.fw), workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v1.0.0`)));
    const pkg = await evidence(s.udi);
    const v = verifyEvidence(pkg, ledgerRoot, { udi: s.udi, policy: defaultPolicy(), now: now() });
    expect(v.outcome).toBe('PASS');
    const builds = v.graph.firmware[0]!.builds;
    expect(builds.map((b) => [b.signer, b.keyId])).toEqual([['fw-ci', identityId(identity)]]);
    // The server's verdict agrees.
    const server = await graphql<{ device: { verify: { outcome: string } } }>(node.url, 'query ($u: String!) { device(udi: $u) { verify { outcome } } }', { u: s.udi });
    expect(server.device.verify.outcome).toBe('PASS');

    // A dishonest operator swaps in a certificate of the same identity from a CA of its own and re-signs the package.
    const logKey = await readPrivateKey(join(node.dir, 'log.key'));
    const forged = structuredClone(pkg) as unknown as { bundles: Array<{ verificationMaterial: { certificate?: { rawBytes: string } } }> };
    const cert = forged.bundles.find((b) => b.verificationMaterial.certificate)!;
    cert.verificationMaterial.certificate!.rawBytes = workflowLeaf(testCA().intermediate, `${WORKFLOW}@refs/tags/v1.0.0`).der.toString('base64');
    const resigned = signEvidence(forged as never, ed25519NoteSigner(ORIGIN, logKey));
    expect(() => verifyEvidence(resigned, ledgerRoot, { udi: s.udi, policy: defaultPolicy(), now: now() })).toThrow(/entry \d+: the logged body names another signer/);
  });

  it('revoking the identity refuses what it signs later, and a compromise from before takes back the PASS', async () => {
    const id = identityId(identity);
    await admin(statement([{ digest: { participant: 'fw-ci' } }], REVOCATION_URI, { participantId: 'fw-ci', identityId: id, reason: 'compromise', effectiveTime: new Date(Date.now() - 3600_000).toISOString(), issuedAt: new Date().toISOString() }));
    expect(await code(node.attestations.submit(certificateBundle(build('ff'.repeat(32)), workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v3.0.0`))))).toBe('SIGNER_REVOKED');
    const v = verifyEvidence(await evidence(s.udi), ledgerRoot, { udi: s.udi, policy: defaultPolicy(), now: now() });
    expect(v.outcome).not.toBe('PASS');
    expect(v.evaluation.findings.map((f) => f.code)).toContain('SIGNER_REVOKED');
  });
});

describe('after a restart', () => {
  it('the registry rebuilt from the log holds the same trust roots, identities and revocations', async () => {
    const dd = await loadDataDir(node.dir);
    const reopened = await AttestationService.open({ ledger: node.ledger, logKey: dd.logKey, adminPublicKeyPem: dd.config.adminPublicKey, createdAt: dd.config.createdAt });
    const view = (svc: AttestationService) => ({
      roots: svc.registry.trustRoots().map((r) => [r.name, r.logIndex, r.material.authorities.length, r.material.logs.length]),
      identities: svc.registry.list().flatMap((p) => (p.identities ?? []).map((i) => [p.id, i.id, i.revocation?.reason ?? null])),
    });
    expect(view(reopened)).toEqual(view(node.attestations));
    expect(view(reopened).identities).toContainEqual(['fw-ci', identityId(identity), 'compromise']);
    expect(reopened.registry.signerInfo(identityId(identity))?.participant).toBe('fw-ci');
  });
});

describe('when a certificate was used, not only when it was logged', () => {
  it('a certificate used inside a revoked window is refused though submitted after it, and the window takes back a PASS offline and on the server', async () => {
    const MIN = 60_000;
    const id = identityId(identity);
    // A certificate used 70 minutes ago, its Rekor entry to show it, logged now.
    const t0 = Date.now() - 70 * MIN;
    const used = makeCert({ cn: 'sigstore', issuer: ca.intermediate, notBefore: t0, notAfter: t0 + 10 * MIN, uris: [`${WORKFLOW}@refs/tags/v4.0.0`], oidcIssuer: GH });
    const inTime = Math.floor((t0 + 5 * MIN) / 1000);
    const n2 = await startNode({ clock });
    try {
      const admin2 = async (st: Record<string, unknown>) => n2.attestations.submit(await signStatement(st, n2.adminKey));
      offset = -4 * 3600_000;
      await admin2(trustRootStatement('acme-sigstore', trustedRoot));
      await admin2(identityRegistration('fw-ci', [identity]));
      offset = 0;
      const s2 = await buildScenario(n2, { skip: ['build'] });
      const r = await n2.attestations.submit(certificateBundle(build(s2.fw), used, { rekor: { log: rekor, time: inTime } }));
      expect(r.record.signedAt).toBe(inTime);
      const root2 = n2.attestations.trustedRoot();
      const verdict = async () => verifyEvidence((await graphql<{ device: { evidence: EvidencePackage } }>(n2.url, 'query ($u: String!) { device(udi: $u) { evidence } }', { u: s2.udi })).device.evidence, root2, { udi: s2.udi, policy: defaultPolicy(), now: now() });
      const server = async () => (await graphql<{ device: { verify: { outcome: string } } }>(n2.url, 'query ($u: String!) { device(udi: $u) { verify { outcome } } }', { u: s2.udi })).device.verify.outcome;
      expect((await verdict()).outcome).toBe('PASS');
      expect(await server()).toBe('PASS');
      // The workflow turns out to have been compromised from 80 to 60 minutes ago: revoked for that window only.
      const window = { effectiveTime: new Date(Date.now() - 80 * MIN).toISOString(), effectiveUntil: new Date(Date.now() - 60 * MIN).toISOString() };
      await admin2(statement([{ digest: { participant: 'fw-ci' } }], REVOCATION_URI, { participantId: 'fw-ci', identityId: id, reason: 'compromise', ...window, issuedAt: new Date().toISOString() }));
      // The entry was logged after the window, but the certificate was used inside it.
      const v = await verdict();
      expect(v.outcome).not.toBe('PASS');
      expect(v.evaluation.findings.map((f) => f.code)).toContain('SIGNER_REVOKED');
      expect(await server()).not.toBe('PASS');
      // Another certificate used inside the window is refused at once; one used after it is accepted.
      const inside = makeCert({ cn: 'sigstore', issuer: ca.intermediate, notBefore: t0, notAfter: t0 + 10 * MIN, uris: [`${WORKFLOW}@refs/tags/v4.0.1`], oidcIssuer: GH });
      expect(await code(n2.attestations.submit(certificateBundle(build('41'.repeat(32)), inside, { rekor: { log: rekor, time: inTime } })))).toBe('SIGNER_REVOKED');
      const t1 = Date.now() - 30 * MIN;
      const after = makeCert({ cn: 'sigstore', issuer: ca.intermediate, notBefore: t1, notAfter: t1 + 10 * MIN, uris: [`${WORKFLOW}@refs/tags/v4.0.2`], oidcIssuer: GH });
      expect(await code(n2.attestations.submit(certificateBundle(build('42'.repeat(32)), after, { rekor: { log: rekor, time: Math.floor((t1 + 5 * MIN) / 1000) } })))).toBe('ACCEPTED');
    } finally {
      await n2.cleanup();
    }
  }, 60_000);
});
