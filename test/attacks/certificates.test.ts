/**
 * Attacks on certificate identities (commit c3519e5): a stranger replaying public material, a
 * registered participant overstepping its identity, a lying server holding the log key, and
 * malformed input. Real keys, real certificates (test/x509-ca.ts), a real node (startNode).
 *
 * Five of these succeeded on c3519e5 (a revoked window bypassed, a tlog-entry flood, and three
 * ways ingestion and the offline verifier disagreed); all are refused now and kept as regressions.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dsse } from '@sigstore/core';
import { PARTICIPANT_URI, REVOCATION_URI, TRUST_ROOT_URI, resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { AttestError } from '../../src/attest/errors.js';
import { graphql } from '../../src/client/graphql.js';
import type { EvidencePackage } from '../../src/provenance/evidence.js';
import { signEvidence } from '../../src/provenance/evidence.js';
import { defaultPolicy } from '../../src/provenance/policy-io.js';
import { identityId, subjectMatches } from '../../src/trust/identity.js';
import { verifyEvidence } from '../../src/verify/evidence.js';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import { readPrivateKey } from '../../src/keys.js';
import { ORIGIN, startNode, type TestNode } from '../helpers.js';
import { certificateBundle, testRekor } from '../cert-signing.js';
import { makeCert, testCA, workflowLeaf, type TestCert } from '../x509-ca.js';
import { buildScenario, type Scenario } from '../provenance/scenario.js';

const GH = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'https://github.com/acme/pump-fw/.github/workflows/release.yml';
const OTHER = 'https://github.com/other/fw/.github/workflows/release.yml';
const WIN = 'https://github.com/win/fw/.github/workflows/release.yml';
const RET = 'https://github.com/ret/fw/.github/workflows/release.yml';
const IN_TOTO = 'application/vnd.in-toto+json';
const MIN = 60_000;
const nowS = () => Math.floor(Date.now() / 1000);

const ca = testCA();
const rekor = testRekor();

/** A second Rekor v1 log (entries at index 0, which protobuf JSON leaves out when re-serialised). */
const rekorLog = (validFrom?: number) => testRekor(validFrom, { baseUrl: 'https://rekor2.test.invalid', logIndex: 0 });

const plog = rekorLog();
const trustedRoot = { ...ca.trustedRoot, tlogs: [rekor.tlog, plog.tlog] };
const identity = { trustRoot: 'acme', issuer: GH, subject: `${WORKFLOW}@refs/tags/*` };

const build = (sha: string, run = 1) =>
  statement([{ name: 'pump-fw.bin', digest: { sha256: sha } }], resolvePredicateType('slsa-provenance').uri, {
    buildDefinition: { buildType: 'https://actions.github.io/buildtypes/workflow/v1', externalParameters: {} },
    runDetails: { builder: { id: `${WORKFLOW}@refs/tags/v2.0.0` }, metadata: { invocationId: `run-${run}` } },
  });
/**
 * The ledgers' clock: registrations are made four hours in the past (offset), so that
 * certificates used an hour ago come after their identity's registration, as in life.
 */
let offset = 0;
const clock = () => Date.now() + offset;
const trustRootStatement = (name: string, root: unknown) => statement([{ digest: { participant: `trust-root:${name}` } }], TRUST_ROOT_URI, { name, trustedRoot: root, issuedAt: new Date(clock()).toISOString() });
const identityRegistration = (id: string, identities: unknown[], extra: Record<string, unknown> = {}) =>
  statement([{ digest: { participant: id } }], PARTICIPANT_URI, { id, organisation: `${id} CI`, roles: ['builder'], identities, issuedAt: new Date(clock()).toISOString(), ...extra });
const identityRevocation = (participantId: string, predicate: Record<string, unknown>) =>
  statement([{ digest: { participant: participantId } }], REVOCATION_URI, { participantId, issuedAt: new Date(clock()).toISOString(), ...predicate });

const code = async (p: Promise<unknown>) => p.then(() => 'ACCEPTED', (e: unknown) => (e instanceof AttestError ? e.code : Promise.reject(e)));
const adminOf = (n: TestNode) => async (st: Record<string, unknown>) => n.attestations.submit(await signStatement(st, n.adminKey));
const evidenceOf = async (n: TestNode, u: string) => (await graphql<{ device: { evidence: EvidencePackage } }>(n.url, 'query ($u: String!) { device(udi: $u) { evidence } }', { u })).device.evidence;

/** A bundle's signed parts, to build entries for. */
function signedParts(b: Record<string, unknown>): { payload: Buffer; signature: Buffer } {
  const env = b.dsseEnvelope as { payload: string; signatures: Array<{ sig: string }> };
  return { payload: Buffer.from(env.payload, 'base64'), signature: Buffer.from(env.signatures[0]!.sig, 'base64') };
}
const vmOf = (b: Record<string, unknown>) => b.verificationMaterial as Record<string, unknown> & { tlogEntries: Array<Record<string, unknown>> };
/** A leaf valid in [from, from + 10 min]. */
const leafAt = (san: string, from: number, issuer: TestCert = ca.intermediate, oidc: string | undefined = GH) =>
  makeCert({ cn: 'sigstore', issuer, notBefore: from, notAfter: from + 10 * MIN, uris: [san], ...(oidc !== undefined && { oidcIssuer: oidc }) });

/** A node with a device whose firmware build is left to a certificate-signed bundle. */
async function scenarioNode(roots: Array<[string, unknown]>, identities: unknown[]): Promise<{ node: TestNode; s: Scenario; ledgerRoot: unknown; admin: (st: Record<string, unknown>) => Promise<unknown> }> {
  const node = await startNode({ clock });
  const admin = adminOf(node);
  offset = -4 * 3600_000;
  for (const [name, root] of roots) await admin(trustRootStatement(name, root));
  await admin(identityRegistration('fw-ci', identities));
  offset = 0;
  const s = await buildScenario(node, { skip: ['build'] });
  return { node, s, ledgerRoot: node.attestations.trustedRoot(), admin };
}

let node: TestNode;
let admin: (st: Record<string, unknown>) => Promise<unknown>;
const nodes: TestNode[] = [];

beforeAll(async () => {
  node = await startNode({ clock });
  nodes.push(node);
  admin = adminOf(node);
  offset = -4 * 3600_000;
  await admin(trustRootStatement('acme', trustedRoot));
  await admin(identityRegistration('fw-ci', [identity]));
  await admin(identityRegistration('other-ci', [{ trustRoot: 'acme', issuer: GH, subject: `${OTHER}@refs/tags/*` }]));
  await admin(identityRegistration('win-ci', [{ trustRoot: 'acme', issuer: GH, subject: `${WIN}@refs/tags/*` }]));
  await admin(identityRegistration('ret-ci', [{ trustRoot: 'acme', issuer: GH, subject: `${RET}@refs/tags/*` }]));
  offset = 0;
}, 60_000);
afterAll(async () => {
  for (const n of nodes) await n.cleanup();
});

/** Submits each bundle, expecting its code, and that nothing at all was written. */
async function refusedAll(cases: Array<[string, unknown, string | string[]]>) {
  const size = node.ledger.size;
  for (const [why, bundle, want] of cases) {
    const got = await code(node.attestations.submit(bundle));
    const ok = Array.isArray(want) ? want.includes(got) : got === want;
    expect(`${why}: ${ok ? 'as expected' : got}`).toBe(`${why}: as expected`);
  }
  expect(node.ledger.size).toBe(size);
}

describe('(a) a stranger with no registered identity, replaying public material', () => {
  it('cannot reuse a logged bundle’s certificate or Rekor entry for another statement, nor log it twice', async () => {
    const t0 = Date.now() - 60 * MIN;
    const leaf = leafAt(`${WORKFLOW}@refs/tags/v7.0.0`, t0);
    const good = certificateBundle(build('a1'.repeat(32)), leaf, { rekor: { log: rekor, time: Math.floor((t0 + 5 * MIN) / 1000) } });
    const r = (await node.attestations.submit(good)) as { record: { logIndex: number }; bundle: Record<string, unknown> };
    const size = node.ledger.size;
    // The public completed bundle, submitted again as it is: nothing written (it is refused,
    // TIMESTAMP_INVALID, since it carries the ledger's own entry, a log the trust root does not name).
    expect(['ACCEPTED', 'TIMESTAMP_INVALID']).toContain(await code(node.attestations.submit(r.bundle)));
    expect(await node.attestations.submit(good)).toMatchObject({ duplicate: true, record: { logIndex: r.record.logIndex } });
    expect(node.ledger.size).toBe(size);

    const stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const other = Buffer.from(JSON.stringify(build('a2'.repeat(32))));
    // Its certificate and Rekor entry around another statement signed by the stranger's key.
    const swapped = structuredClone(good) as Record<string, unknown>;
    (swapped.dsseEnvelope as Record<string, unknown>) = { payload: other.toString('base64'), payloadType: IN_TOTO, signatures: [{ keyid: '', sig: sign('sha256', dsse.preAuthEncoding(IN_TOTO, other), stranger.privateKey).toString('base64') }] };
    // The same certificate with the original signature over a changed statement.
    const tampered = structuredClone(good) as Record<string, unknown>;
    (tampered.dsseEnvelope as { payload: string }).payload = other.toString('base64');
    // The original envelope, but the public Rekor entry of another bundle (same identity, other statement).
    const leaf2 = leafAt(`${WORKFLOW}@refs/tags/v7.0.1`, t0);
    const otherRekor = certificateBundle(build('a3'.repeat(32)), leaf2, { rekor: { log: rekor, time: Math.floor((t0 + 5 * MIN) / 1000) } });
    const mixed = certificateBundle(build('a4'.repeat(32)), leaf2, { rekor: { log: rekor, time: Math.floor((t0 + 5 * MIN) / 1000) } });
    vmOf(mixed).tlogEntries = vmOf(otherRekor).tlogEntries;
    // A self-signed leaf with the registered names and issuer.
    const self = makeCert({ cn: 'sigstore', notBefore: Date.now() - MIN, notAfter: Date.now() + 10 * MIN, uris: [`${WORKFLOW}@refs/tags/v7`], oidcIssuer: GH });
    // A CA with the very same names and key sizes as the registered one (an impostor), its leaf.
    const impostor = testCA();
    await refusedAll([
      ['stranger’s signature under the public certificate', swapped, 'SIGNATURE_INVALID'],
      ['statement changed under the original signature', tampered, 'SIGNATURE_INVALID'],
      ['expired certificate with another bundle’s Rekor entry', mixed, ['CERTIFICATE_NOT_VALID_AT_SIGNING', 'TIMESTAMP_INVALID']],
      ['self-signed leaf', certificateBundle(build('a5'.repeat(32)), self), 'UNTRUSTED_ROOT'],
      ['impostor CA with the same names', certificateBundle(build('a6'.repeat(32)), workflowLeaf(impostor.intermediate, `${WORKFLOW}@refs/tags/v7`)), 'UNTRUSTED_ROOT'],
      ['impostor chain carried in the bundle', certificateBundle(build('a7'.repeat(32)), workflowLeaf(impostor.intermediate, `${WORKFLOW}@refs/tags/v7`), { chain: [impostor.intermediate, impostor.root] }), 'UNTRUSTED_ROOT'],
      ['an unregistered identity', certificateBundle(build('a8'.repeat(32)), workflowLeaf(ca.intermediate, 'https://github.com/stranger/x/.github/workflows/r.yml@refs/tags/v1')), 'SIGNER_UNKNOWN'],
      ['a registry statement signed with a certificate', certificateBundle(identityRegistration('evil', [identity]), workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v7`)), 'ROLE_NOT_ALLOWED'],
    ]);
  });
});

describe('(b) a registered participant overstepping', () => {
  it('matches whole names only: no prefix, suffix, other SAN kind, missing or other issuer', async () => {
    const now = Date.now() - MIN;
    const mk = (o: { uris?: string[]; emails?: string[]; oidc?: string }) =>
      certificateBundle(build('b1'.repeat(32)), makeCert({ cn: 'sigstore', issuer: ca.intermediate, notBefore: now, notAfter: now + 10 * MIN, ...(o.uris && { uris: o.uris }), ...(o.emails && { emails: o.emails }), ...(o.oidc && { oidcIssuer: o.oidc }) }));
    await refusedAll([
      ['prefix', mk({ uris: [`x${WORKFLOW}@refs/tags/v1`], oidc: GH }), 'SIGNER_UNKNOWN'],
      ['pattern literal in another place', mk({ uris: [`${WORKFLOW}@refs/heads/main`], oidc: GH }), 'SIGNER_UNKNOWN'],
      ['an e-mail SAN outside the pattern', mk({ emails: [`${WORKFLOW}@refs/heads/x`], oidc: GH }), 'SIGNER_UNKNOWN'],
      ['no OIDC issuer', mk({ uris: [`${WORKFLOW}@refs/tags/v1`] }), 'SIGNER_UNKNOWN'],
      ['issuer with a trailing slash', mk({ uris: [`${WORKFLOW}@refs/tags/v1`], oidc: `${GH}/` }), 'SIGNER_UNKNOWN'],
      ['no SAN at all', mk({ oidc: GH }), 'SIGNER_UNKNOWN'],
    ]);
    // The matcher agrees with an anchored regular expression on tricky names.
    const cases: Array<[string, string]> = [
      ['a*b', 'ab'], ['a*b', 'aXbY'], ['a*b*c', 'abcbc'], ['*x', 'xxxx'], ['a**b', 'ab'], ['a*', ''], ['https://h/*@refs/tags/*', 'https://h/w.yml@refs/heads/m@refs/tags/v1'],
    ];
    for (const [p, n] of cases) {
      const re = new RegExp(`^${p.split('*').map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*')}$`);
      expect(`${p} ~ ${n}: ${subjectMatches(p, n)}`).toBe(`${p} ~ ${n}: ${re.test(n)}`);
    }
  });

  it('a certificate naming its own identity and another participant’s is refused as ambiguous, nothing written', async () => {
    const both = makeCert({ cn: 'sigstore', issuer: ca.intermediate, notBefore: Date.now() - MIN, notAfter: Date.now() + 10 * MIN, uris: [`${OTHER}@refs/tags/v1`, `${WORKFLOW}@refs/tags/v1`], oidcIssuer: GH });
    await refusedAll([['two participants’ names in one certificate', certificateBundle(build('b2'.repeat(32)), both), 'IDENTITY_AMBIGUOUS']]);
  });

  it('a retired identity signs nothing more, with or without a Rekor entry from before its retirement', async () => {
    const t0 = Date.now() - 30 * MIN;
    const early = leafAt(`${RET}@refs/tags/v1`, t0);
    const inTime = Math.floor((t0 + 5 * MIN) / 1000);
    await admin(identityRevocation('ret-ci', { identityId: identityId({ trustRoot: 'acme', issuer: GH, subject: `${RET}@refs/tags/*` }), reason: 'retired' }));
    await refusedAll([
      ['fresh certificate after retirement', certificateBundle(build('b3'.repeat(32)), workflowLeaf(ca.intermediate, `${RET}@refs/tags/v2`)), 'SIGNER_REVOKED'],
      ['certificate used before retirement, submitted after', certificateBundle(build('b4'.repeat(32)), early, { rekor: { log: rekor, time: inTime } }), 'SIGNER_REVOKED'],
    ]);
  });

  it('cannot backdate with a Rekor entry: after the certificate, before the log key, signed by another key, naming another certificate or statement', async () => {
    const t0 = Date.now() - 60 * MIN;
    const leaf = leafAt(`${WORKFLOW}@refs/tags/v8`, t0);
    const stmt = build('b5'.repeat(32));
    const inTime = Math.floor((t0 + 5 * MIN) / 1000);
    const base = certificateBundle(stmt, leaf, { rekor: { log: rekor, time: inTime } }); // v0.1: entries need a timestamp
    const { payload, signature } = signedParts(base);
    const withEntries = (...entries: Array<Record<string, unknown>>) => {
      const b = structuredClone(base);
      vmOf(b).tlogEntries = entries;
      return b;
    };
    const lateLog = rekorLog(Date.now() - 10 * MIN); // its key is valid only from 10 minutes ago
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const otherLeaf = leafAt(`${WORKFLOW}@refs/tags/v8`, t0);
    const keyPem = leaf.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    await refusedAll([
      ['entry before the certificate existed', withEntries(plog.entry(payload, signature, leaf.der, Math.floor((t0 - 5 * MIN) / 1000))), ['CERTIFICATE_NOT_VALID_AT_SIGNING', 'TIMESTAMP_INVALID']],
      ['entry of a log the trust root does not name', withEntries(lateLog.entry(payload, signature, leaf.der, inTime)), ['CERTIFICATE_NOT_VALID_AT_SIGNING', 'TIMESTAMP_INVALID']],
      ['entry timestamp signed by another key', withEntries(plog.entry(payload, signature, leaf.der, inTime, { signer: otherKey })), ['CERTIFICATE_NOT_VALID_AT_SIGNING', 'TIMESTAMP_INVALID']],
      ['entry naming another certificate of the same identity', withEntries(plog.entry(payload, signature, otherLeaf.der, inTime)), ['CERTIFICATE_NOT_VALID_AT_SIGNING', 'TIMESTAMP_INVALID']],
      ['entry naming the bare key, not the certificate', withEntries(plog.entry(payload, signature, leaf.der, inTime, { verifierPem: keyPem })), ['CERTIFICATE_NOT_VALID_AT_SIGNING', 'TIMESTAMP_INVALID']],
      ['entry for another statement', withEntries(plog.entry(Buffer.from(JSON.stringify(build('b6'.repeat(32)))), signature, leaf.der, inTime)), ['CERTIFICATE_NOT_VALID_AT_SIGNING', 'TIMESTAMP_INVALID']],
      ['entry with an inclusion proof but no timestamp', withEntries(plog.entry(payload, signature, leaf.der, inTime, { set: false, proof: true })), ['CERTIFICATE_NOT_VALID_AT_SIGNING', 'TIMESTAMP_INVALID', 'BUNDLE_INVALID']],
      ['entry time in the future', withEntries(plog.entry(payload, signature, leaf.der, nowS() + 3600)), ['CERTIFICATE_NOT_VALID_AT_SIGNING', 'TIMESTAMP_INVALID']],
    ]);
    // A log key's validity ends: an entry after its end gives no time.
    const root2 = { ...ca.trustedRoot, tlogs: [{ ...plog.tlog, publicKey: { ...(plog.tlog.publicKey as object), validFor: { start: new Date(Date.now() - 365 * 86_400_000).toISOString(), end: new Date(t0).toISOString() } } }] };
    await admin(trustRootStatement('acme-ended', root2));
    await admin(identityRegistration('ended-ci', [{ trustRoot: 'acme-ended', issuer: GH, subject: 'https://github.com/ended/x/.github/workflows/r.yml@refs/tags/*' }]));
    const leafE = leafAt('https://github.com/ended/x/.github/workflows/r.yml@refs/tags/v1', t0);
    const bE = certificateBundle(build('b7'.repeat(32)), leafE, { rekor: { log: rekor, time: inTime } });
    const pE = signedParts(bE);
    vmOf(bE).tlogEntries = [plog.entry(pE.payload, pE.signature, leafE.der, inTime)];
    await refusedAll([['entry after its log key’s validity ended', bE, ['CERTIFICATE_NOT_VALID_AT_SIGNING', 'TIMESTAMP_INVALID']]]);
  });

  it('a certificate used only inside a revoked window (its Rekor entry proves it) is refused when submitted after the window', async () => {
    // The workflow was compromised from 2 h to 30 min ago; the administrator revoked that window.
    const winId = identityId({ trustRoot: 'acme', issuer: GH, subject: `${WIN}@refs/tags/*` });
    await admin(
      identityRevocation('win-ci', { identityId: winId, reason: 'compromise', effectiveTime: new Date(Date.now() - 120 * MIN).toISOString(), effectiveUntil: new Date(Date.now() - 30 * MIN).toISOString() }),
    );
    // Inside the window the attacker got a ten-minute certificate and logged its signature in the
    // trust root's Rekor; it submits after the window closed.
    const t0 = Date.now() - 70 * MIN;
    const leaf = leafAt(`${WIN}@refs/tags/v6.6.6`, t0);
    const bundle = certificateBundle(build('b8'.repeat(32)), leaf, { rekor: { log: rekor, time: Math.floor((t0 + 5 * MIN) / 1000) } });
    const size = node.ledger.size;
    // Today: ACCEPTED (the revocation is checked at the ledger's time only, not at the verified signing time).
    expect(await code(node.attestations.submit(bundle))).toBe('SIGNER_REVOKED');
    expect(node.ledger.size).toBe(size);
  });

  it('a certificate whose verified signing time is before the identity was registered is refused', async () => {
    // The identity was bound to the participant only at registration: a Rekor entry from before
    // it (a repository that was once someone else's) does not speak for the participant.
    const t0 = Date.now() - 60 * MIN;
    const san = 'https://github.com/late/x/.github/workflows/r.yml@refs/tags/v1';
    const leaf = leafAt(san, t0);
    const bundle = certificateBundle(build('b9'.repeat(32)), leaf, { rekor: { log: rekor, time: Math.floor((t0 + 5 * MIN) / 1000) } });
    await admin(identityRegistration('late-ci', [{ trustRoot: 'acme', issuer: GH, subject: 'https://github.com/late/x/.github/workflows/r.yml@refs/tags/*' }]));
    expect(await code(node.attestations.submit(bundle))).toBe('CERTIFICATE_NOT_VALID_AT_SIGNING');
  });
});

describe('(d) malformed input: a clear code, nothing written, no crash', () => {
  it('bad DER, wrong curves, odd chains and media types', async () => {
    const good = certificateBundle(build('d1'.repeat(32)), workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v1`));
    const withVm = (vm: Record<string, unknown>, mediaType?: string) => ({ ...structuredClone(good), ...(mediaType && { mediaType }), verificationMaterial: { ...vmOf(good), ...vm, certificate: undefined, ...vm } });
    const leafDer = vmOf(good).certificate as { rawBytes: string };
    const der = Buffer.from(leafDer.rawBytes, 'base64');
    const truncated = der.subarray(0, der.length - 5).toString('base64');
    const trailing = Buffer.concat([der, Buffer.from([0])]).toString('base64');
    const p384 = makeCert({ cn: 'sigstore', issuer: ca.intermediate, curve: 'P-384', notBefore: Date.now() - MIN, notAfter: Date.now() + 10 * MIN, uris: [`${WORKFLOW}@refs/tags/v1`], oidcIssuer: GH });
    const nine = Array.from({ length: 9 }, () => ({ rawBytes: ca.intermediate.der.toString('base64') }));
    const huge = { rawBytes: Buffer.alloc(200_000, 0x30).toString('base64') };
    const V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
    await refusedAll([
      ['truncated DER', withVm({ certificate: { rawBytes: truncated } }), ['CERTIFICATE_INVALID', 'BUNDLE_INVALID']],
      ['trailing byte after the DER', withVm({ certificate: { rawBytes: trailing } }), ['CERTIFICATE_INVALID', 'BUNDLE_INVALID']],
      ['not DER at all', withVm({ certificate: { rawBytes: 'AAAA' } }), ['CERTIFICATE_INVALID', 'BUNDLE_INVALID']],
      ['a 200 kB certificate', withVm({ certificate: huge }), ['CERTIFICATE_INVALID', 'BUNDLE_INVALID']],
      ['an empty certificate', withVm({ certificate: { rawBytes: '' } }), ['CERTIFICATE_INVALID', 'BUNDLE_INVALID']],
      ['a P-384 signing certificate', certificateBundle(build('d1'.repeat(32)), p384), 'CERTIFICATE_INVALID'],
      ['nine certificates in the chain', withVm({ x509CertificateChain: { certificates: [{ rawBytes: leafDer.rawBytes }, ...nine] } }, V01), ['CERTIFICATE_INVALID', 'BUNDLE_INVALID']],
      ['an empty chain', withVm({ x509CertificateChain: { certificates: [] } }, V01), ['CERTIFICATE_INVALID', 'BUNDLE_INVALID']],
      ['a chain with a junk intermediate', withVm({ x509CertificateChain: { certificates: [{ rawBytes: leafDer.rawBytes }, { rawBytes: 'AAAA' }] } }, V01), ['CERTIFICATE_INVALID', 'BUNDLE_INVALID']],
      ['a chain in a v0.3 bundle', withVm({ x509CertificateChain: { certificates: [{ rawBytes: leafDer.rawBytes }] } }), 'BUNDLE_INVALID'],
      ['a v0.4 media type', { ...structuredClone(good), mediaType: 'application/vnd.dev.sigstore.bundle.v0.4+json' }, 'UNSUPPORTED_MEDIA_TYPE'],
      ['a media type that is not a string', { ...structuredClone(good), mediaType: ['application/vnd.dev.sigstore.bundle.v0.3+json'] }, 'UNSUPPORTED_MEDIA_TYPE'],
      ['a v0.1 bundle without an inclusion promise', withVm({ x509CertificateChain: { certificates: [{ rawBytes: leafDer.rawBytes }] }, tlogEntries: [{ logIndex: '0', logId: { keyId: 'AA==' }, kindVersion: { kind: 'dsse', version: '0.0.1' }, integratedTime: '1', canonicalizedBody: 'e30=' }] }, V01), 'BUNDLE_INVALID'],
      ['two signatures on a certificate-signed envelope', { ...structuredClone(good), dsseEnvelope: { ...(good.dsseEnvelope as object), signatures: [...(good.dsseEnvelope as { signatures: unknown[] }).signatures, { sig: 'AAAA', keyid: '' }] } }, 'BUNDLE_INVALID'],
      ['a message signature with a certificate', { mediaType: good.mediaType, verificationMaterial: vmOf(good), messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: 'AAAA' }, signature: 'AAAA' } }, 'NOT_DSSE'],
      ['junk tlog entries', withVm({ tlogEntries: [{ junk: true }, 'x', 7] }), ['BUNDLE_INVALID', 'TIMESTAMP_INVALID']],
    ]);
  });

  it('a bundle with thousands of tlog entries is refused at once (it stalls the event loop for seconds to minutes today)', async () => {
    // Any live identity's public bundle will do: a stranger can replay one from the ledger.
    const leaf = workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v1`);
    const b = certificateBundle(build('d2'.repeat(32)), leaf, { rekor: { log: rekor, time: nowS() - 10 } });
    const first = vmOf(b).tlogEntries[0]!;
    // Distinct entries (distinct times) make @sigstore/verify's duplicate check quadratic: 4,000
    // entries (~1 MB) take ~9 s of synchronous CPU, 50,000 (the 12 MB bundle limit) ~20 min.
    for (let i = 1; i < 4000; i++) vmOf(b).tlogEntries.push({ logIndex: '1', logId: first.logId, kindVersion: first.kindVersion, integratedTime: String(i), inclusionPromise: { signedEntryTimestamp: 'AA==' }, canonicalizedBody: 'e30=' });
    const size = node.ledger.size;
    const t = Date.now();
    const got = await code(node.attestations.submit(b));
    const elapsed = Date.now() - t;
    expect(node.ledger.size).toBe(size);
    expect({ got, fast: elapsed < 1500 }).toEqual({ got: 'BUNDLE_INVALID', fast: true });
  }, 120_000);
});

describe('(c) a lying server holding the log key, re-signing evidence packages', () => {
  let sn: Awaited<ReturnType<typeof scenarioNode>>;
  let pkg: EvidencePackage;
  let resign: (p: unknown) => EvidencePackage;
  const t0 = Date.now() - 60 * MIN;
  const leaf = leafAt(`${WORKFLOW}@refs/tags/v1.0.0`, t0);

  beforeAll(async () => {
    sn = await scenarioNode([['acme', trustedRoot]], [identity]);
    nodes.push(sn.node);
    // An expired-by-now certificate, with its Rekor entry: the PASS rests on that entry.
    await sn.node.attestations.submit(certificateBundle(build(sn.s.fw), leaf, { rekor: { log: rekor, time: Math.floor((t0 + 5 * MIN) / 1000) } }));
    pkg = await evidenceOf(sn.node, sn.s.udi);
    const logKey = await readPrivateKey(join(sn.node.dir, 'log.key'));
    resign = (p) => signEvidence(p as EvidencePackage, ed25519NoteSigner(ORIGIN, logKey));
  }, 60_000);

  const verdict = (p: unknown) => {
    try {
      return verifyEvidence(p, sn.ledgerRoot, { udi: sn.s.udi, policy: defaultPolicy(), now: nowS() }).outcome;
    } catch (e) {
      return (e as { code?: string }).code ?? `CRASH ${(e as Error).message}`;
    }
  };
  const certBundle = (p: EvidencePackage) => (p as unknown as { bundles: Array<Record<string, unknown>> }).bundles.find((b) => vmOf(b).certificate || vmOf(b).x509CertificateChain)!;

  it('the honest package PASSes (baseline)', () => {
    expect(verdict(pkg)).toBe('PASS');
    expect(verdict(resign(structuredClone(pkg)))).toBe('PASS');
  });

  it('no PASS with the certificate, chain or Rekor entries swapped', () => {
    // The stored bundle is v0.1 (it brought a Rekor entry): its certificates are a chain, the leaf first.
    const certs = (b: Record<string, unknown>) => (vmOf(b).x509CertificateChain as { certificates: Array<{ rawBytes: string }> }).certificates;
    expect(certs(certBundle(pkg))[0]!.rawBytes).toBe(leaf.der.toString('base64'));
    const tries: Array<[string, (b: Record<string, unknown>) => void, string[]]> = [
      ['another certificate of the same identity from the same CA', (b) => (certs(b)[0] = { rawBytes: leafAt(`${WORKFLOW}@refs/tags/v1.0.0`, t0).der.toString('base64') }), []],
      ['a currently valid certificate of the same identity', (b) => (certs(b)[0] = { rawBytes: workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v1.0.0`).der.toString('base64') }), []],
      ['the leaf as a v0.3 certificate instead of a chain', (b) => { vmOf(b).certificate = certs(b)[0]; delete vmOf(b).x509CertificateChain; }, ['PASS']],
      ['a decoy intermediate with the real one’s names', (b) => certs(b).push({ rawBytes: testCA().intermediate.der.toString('base64') }), ['PASS']],
      ['the real intermediate and root carried too', (b) => certs(b).push({ rawBytes: ca.intermediate.der.toString('base64') }, { rawBytes: ca.root.der.toString('base64') }), ['PASS']],
      ['a junk intermediate', (b) => certs(b).push({ rawBytes: 'AAAA' }), []],
      ['nine certificates', (b) => certs(b).push(...Array.from({ length: 8 }, () => ({ rawBytes: ca.intermediate.der.toString('base64') }))), []],
      ['its own Rekor entry dropped', (b) => (vmOf(b).tlogEntries = vmOf(b).tlogEntries.slice(0, 1)), []],
      ['its own Rekor entry moved later', (b) => { const e = vmOf(b).tlogEntries[1]!; e.integratedTime = String(Number(e.integratedTime) + 3600); }, []],
      ['its own Rekor entry relabelled with the ledger’s log ID', (b) => { vmOf(b).tlogEntries[1]!.logId = vmOf(b).tlogEntries[0]!.logId; }, []],
      ['a second entry in the ledger’s log', (b) => vmOf(b).tlogEntries.push(structuredClone(vmOf(b).tlogEntries[0]!)), []],
      ['no certificate at all, the identity ID as a key hint', (b) => { delete vmOf(b).x509CertificateChain; vmOf(b).publicKey = { hint: identityId(identity) }; }, []],
    ];
    for (const [why, change, allowed] of tries) {
      const p = structuredClone(pkg);
      change(certBundle(p));
      const v = verdict(resign(p));
      expect(v).not.toMatch(/^CRASH/);
      expect(`${why}: ${v === 'PASS' && !allowed.includes('PASS') ? 'PASS' : 'ok'}`).toBe(`${why}: ok`);
    }
  });

  it('no PASS with the trust root or the identity registration left out or altered', () => {
    const bundles = (p: EvidencePackage) => (p as unknown as { bundles: Array<{ dsseEnvelope: { payload: string } }> }).bundles;
    const typeOf = (b: { dsseEnvelope: { payload: string } }) => (JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString()) as { predicateType: string }).predicateType;
    for (const drop of [TRUST_ROOT_URI, PARTICIPANT_URI]) {
      const p = structuredClone(pkg);
      (p as unknown as { bundles: unknown[] }).bundles = bundles(p).filter((b) => !(typeOf(b) === drop && Buffer.from(b.dsseEnvelope.payload, 'base64').toString().includes(drop === TRUST_ROOT_URI ? '"acme"' : 'fw-ci')));
      expect(verdict(resign(p))).not.toBe('PASS');
    }
  });

  it('a later trust-root compromise revocation takes the PASS back', async () => {
    await sn.admin(statement([{ digest: { participant: 'trust-root:acme' } }], REVOCATION_URI, { trustRoot: 'acme', reason: 'compromise', effectiveTime: new Date(t0 - MIN).toISOString(), issuedAt: new Date().toISOString() }));
    const after = await evidenceOf(sn.node, sn.s.udi);
    expect(verdict(after)).not.toBe('PASS');
    // Leaving the revocation out of the re-signed package is caught as incomplete.
    const p = structuredClone(after) as unknown as { bundles: Array<{ dsseEnvelope: { payload: string } }> };
    p.bundles = p.bundles.filter((b) => !Buffer.from(b.dsseEnvelope.payload, 'base64').toString().includes('"trustRoot":"acme","reason"'));
    expect(p.bundles.length).toBe((after as unknown as { bundles: unknown[] }).bundles.length - 1);
    expect(verdict(resign(p))).not.toBe('PASS');
  });
});

describe('what ingestion accepts verifies offline the same way', () => {
  const verifies = (n: Awaited<ReturnType<typeof scenarioNode>>, pkg: unknown) => {
    try {
      const v = verifyEvidence(pkg, n.ledgerRoot, { udi: n.s.udi, policy: defaultPolicy(), now: nowS() });
      return { outcome: v.outcome, build: v.graph.firmware[0]?.builds.map((b) => b.keyId) };
    } catch (e) {
      return { error: (e as { code?: string }).code, message: (e as Error).message.slice(0, 200) };
    }
  };

  it('a bundle bringing 8 entries of its trust root’s log (the timed one last) verifies offline too', async () => {
    const sn = await scenarioNode([['acme', trustedRoot]], [identity]);
    nodes.push(sn.node);
    const t0 = Date.now() - 60 * MIN;
    const leaf = leafAt(`${WORKFLOW}@refs/tags/v1.0.0`, t0);
    const b = certificateBundle(build(sn.s.fw), leaf);
    const { payload, signature } = signedParts(b);
    const inTime = Math.floor((t0 + 5 * MIN) / 1000);
    // One real Rekor entry: seven copies carrying only its inclusion proof (valid for the stock
    // verifier, no time for the core), then the entry with its timestamp too.
    const proofOnly = plog.entry(payload, signature, leaf.der, inTime, { set: false, proof: true });
    vmOf(b).tlogEntries = [...Array.from({ length: 7 }, () => structuredClone(proofOnly)), plog.entry(payload, signature, leaf.der, inTime, { proof: true })];
    const r = (await sn.node.attestations.submit(b)) as { record: { keyId: string } };
    expect(r.record.keyId).toBe(identityId(identity)); // ingestion accepted it
    // Offline the ledger's own entry comes first, and the core reads only the first 8 entries:
    // today the whole device package is refused (BUNDLE_INVALID), for good.
    expect(verifies(sn, await evidenceOf(sn.node, sn.s.udi))).toEqual({ outcome: 'PASS', build: [identityId(identity)] });
  }, 60_000);

  it('the identity the ledger records is the one the offline verifier derives (two identities of one participant under two roots)', async () => {
    const i1 = { trustRoot: 'acme-keys', issuer: GH, subject: `${WORKFLOW}@refs/tags/*` }; // the same CA, no Rekor log
    const i2 = { trustRoot: 'acme', issuer: GH, subject: `${WORKFLOW}@refs/tags/*` }; // the same CA and its Rekor
    const sn = await scenarioNode([['acme-keys', { ...ca.trustedRoot, tlogs: [] }], ['acme', trustedRoot]], [i1, i2]);
    nodes.push(sn.node);
    const leaf = workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v1.0.0`);
    const r = (await sn.node.attestations.submit(certificateBundle(build(sn.s.fw), leaf, { rekor: { log: rekor, time: nowS() - 10 } }))) as { record: { keyId: string } };
    // Ingestion: i1's root fails the stock check of the brought entry, so it records i2.
    // Offline: i1 passes the core check first, so the entry is i1's; the server's package carries
    // the index list for i2 only, and the package is refused as incomplete (or, with a list for
    // i1 present, a compromise of i2 would not reach the entry).
    expect(verifies(sn, await evidenceOf(sn.node, sn.s.udi))).toEqual({ outcome: 'PASS', build: [r.record.keyId] });
  }, 60_000);

  it('an overlapping identity registered while a bundle is in flight does not leave an entry the offline verifier refuses', async () => {
    const sn = await scenarioNode([['acme', trustedRoot]], [identity]);
    nodes.push(sn.node);
    const leaf = workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v1.0.0`);
    // The administrator registers another participant whose pattern overlaps, sequenced between
    // the bundle's check and its append (a test hook on the ledger object: the race, made certain).
    const ledger = sn.node.ledger as unknown as { append: (req: unknown) => Promise<unknown> };
    const original = ledger.append.bind(ledger);
    ledger.append = async (req: unknown) => {
      ledger.append = original;
      await sn.admin(identityRegistration('broad-ci', [{ trustRoot: 'acme', issuer: GH, subject: 'https://github.com/acme/*' }]));
      return original(req);
    };
    const got = await code(sn.node.attestations.submit(certificateBundle(build(sn.s.fw), leaf)));
    ledger.append = original;
    const offline = got === 'ACCEPTED' ? verifies(sn, await evidenceOf(sn.node, sn.s.udi)) : undefined;
    // Secure: refused as ambiguous when it is sequenced, or, if accepted, verifiable offline.
    expect({ got, offline }).toEqual(got === 'IDENTITY_AMBIGUOUS' ? { got, offline: undefined } : { got, offline: { outcome: 'PASS', build: [identityId(identity)] } });
  }, 60_000);
});
