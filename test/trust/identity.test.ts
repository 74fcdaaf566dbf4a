/**
 * Certificate identities and trust roots in the registry (pure), and the shared core's
 * certificate checks on real public-good Sigstore bundles (sigstore-js's fixtures: Fulcio
 * certificates long expired, each with its Rekor v1 entry to show when it was used).
 */
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PARTICIPANT_URI, REVOCATION_URI, TRUST_ROOT_URI } from '../../src/attest/predicates.js';
import { identityId, identitySubjectPattern, subjectMatches, subjectProblem } from '../../src/trust/identity.js';
import { TrustRegistry } from '../../src/trust/registry.js';
import { spkiPem } from '../../src/trust/keys.js';
import { bundleCertificates, ownLogTimes, readTrustRoot, verifyCertificateSigner } from '../../src/verify/certificate.js';
import { CertificateError, parseCertificate } from '../../src/verify/x509.js';
import { outcomeCode } from '../helpers.js';
import { testCA, workflowLeaf } from '../x509-ca.js';

const adminPem = spkiPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
const GH = 'https://token.actions.githubusercontent.com';
const code = (f: () => unknown) => outcomeCode(f);

describe('subject patterns', () => {
  it('match the whole name, * standing for any run of characters', () => {
    const p = 'https://github.com/acme/fw/.github/workflows/release.yml@refs/tags/*';
    expect(subjectMatches(p, 'https://github.com/acme/fw/.github/workflows/release.yml@refs/tags/v1.2.0')).toBe(true);
    expect(subjectMatches(p, 'https://github.com/acme/fw/.github/workflows/release.yml@refs/tags/')).toBe(true);
    expect(subjectMatches(p, 'https://github.com/acme/fw/.github/workflows/release.yml@refs/heads/main')).toBe(false);
    expect(subjectMatches(p, 'xhttps://github.com/acme/fw/.github/workflows/release.yml@refs/tags/v1')).toBe(false);
    expect(subjectMatches('a*b*c', 'aXXbYYc')).toBe(true);
    expect(subjectMatches('a*b*c', 'aXXbYYcd')).toBe(false);
    expect(subjectMatches('ci@acme.example', 'ci@acme.example')).toBe(true);
    expect(subjectMatches('ci@acme.example', 'ci@acme.example.evil')).toBe(false);
    // Dots and other regular-expression characters are literal.
    expect(subjectMatches('ci@acme.example', 'ci@acmeXexample')).toBe(false);
    expect(subjectMatches('*', '')).toBe(true);
    // A pathological pattern stays fast (no exponential backtracking).
    expect(subjectMatches('a*a*a*a*b', 'a'.repeat(5000))).toBe(false);
  });

  it('the stock-verifier form agrees with the matcher', () => {
    const p = 'https://github.com/acme/*/.github/workflows/*.yml@refs/tags/*';
    const names = ['https://github.com/acme/fw/.github/workflows/r.yml@refs/tags/v1', 'https://github.com/acme/fw/.github/workflows/r.yaml@refs/tags/v1', 'https://github.com/acme/fw/.github/workflowsXr.yml@refs/tags/v1'];
    const re = identitySubjectPattern(p) as RegExp;
    for (const n of names) expect(new RegExp(`^(?:${re.source})$`).test(n)).toBe(subjectMatches(p, n));
    expect(identitySubjectPattern('exact@example.org')).toBe('exact@example.org');
  });

  it('refuses patterns that are empty, all wildcards, or have more than four', () => {
    expect(subjectProblem('')).toMatch(/1 to 1024/);
    expect(subjectProblem('**')).toMatch(/besides wildcards/);
    expect(subjectProblem('a*b*c*d*e*f')).toMatch(/at most 4/);
    expect(subjectProblem('https://github.com/acme/*')).toBeUndefined();
  });

  it('an identity ID depends on the root, the issuer (present or not) and the subject', () => {
    const a = identityId({ trustRoot: 'r', issuer: GH, subject: 's' });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(identityId({ trustRoot: 'r', issuer: GH, subject: 's' })).toBe(a);
    expect(new Set([a, identityId({ trustRoot: 'r', subject: 's' }), identityId({ trustRoot: 'r2', issuer: GH, subject: 's' }), identityId({ trustRoot: 'r', issuer: GH, subject: 's*' })]).size).toBe(4);
  });
});

describe('the registry with trust roots and identities', () => {
  const ca = testCA();
  const setup = () => {
    const r = new TrustRegistry(adminPem, 0);
    r.apply({ predicateType: TRUST_ROOT_URI, predicate: { name: 'acme', trustedRoot: ca.trustedRoot } }, 1, 1000);
    const identity = { trustRoot: 'acme', issuer: GH, subject: 'https://github.com/acme/fw/*' };
    r.apply({ predicateType: PARTICIPANT_URI, predicate: { id: 'fw-ci', organisation: 'CI', roles: ['builder'], identities: [identity] } }, 2, 1000);
    return { r, identity, id: identityId(identity) };
  };
  const leaf = workflowLeaf(ca.intermediate, 'https://github.com/acme/fw/.github/workflows/release.yml@refs/tags/v1');
  const cert = parseCertificate(leaf.der);

  it('finds the participant by its certificate and says who it is', () => {
    const { r, id } = setup();
    expect(r.identitiesFor(cert, 2000).map((c) => [c.participant.id, c.identity.id, c.root.name])).toEqual([['fw-ci', id, 'acme']]);
    expect(r.signerInfo(id)).toMatchObject({ participant: 'fw-ci', roles: ['builder'], revocations: [] });
    expect(r.checkSigner(id, 2000).participant.id).toBe('fw-ci');
    expect(r.identitiesFor(parseCertificate(workflowLeaf(ca.intermediate, 'https://github.com/evil/fw@x').der), 2000)).toEqual([]);
  });

  it('a revoked window refuses inside it only; a revoked trust root refuses every identity under it', () => {
    const { r, id } = setup();
    r.apply({ predicateType: REVOCATION_URI, predicate: { participantId: 'fw-ci', identityId: id, reason: 'compromise', effectiveTime: new Date(3000_000).toISOString(), effectiveUntil: new Date(4000_000).toISOString() } }, 3, 5000);
    expect(code(() => r.checkSigner(id, 2999))).toBe('VALID');
    expect(code(() => r.checkSigner(id, 3000))).toBe('SIGNER_REVOKED');
    expect(code(() => r.checkSigner(id, 3999))).toBe('SIGNER_REVOKED');
    expect(code(() => r.checkSigner(id, 4000))).toBe('VALID');
    r.apply({ predicateType: REVOCATION_URI, predicate: { trustRoot: 'acme', reason: 'retired' } }, 4, 6000);
    expect(code(() => r.checkSigner(id, 5999))).toBe('VALID');
    expect(code(() => r.checkSigner(id, 6001))).toBe('SIGNER_REVOKED');
    expect(r.signerInfo(id)!.revocations).toHaveLength(2);
    // A registration of a new identity under a revoked root is refused.
    expect(code(() => r.checkRegistration({ id: 'other', organisation: 'O', roles: ['builder'], identities: [{ trustRoot: 'acme', subject: 'x' }] }))).toBe('REGISTRATION_INVALID');
  });

  it('an identity left out of a new registration is retired from then', () => {
    const { r, id } = setup();
    r.apply({ predicateType: PARTICIPANT_URI, predicate: { id: 'fw-ci', organisation: 'CI', roles: ['builder'], identities: [] } }, 5, 7000);
    expect(code(() => r.checkSigner(id, 7001))).toBe('SIGNER_REVOKED');
    expect(r.identitiesFor(cert, 7001).map((c) => c.identity.id)).toEqual([id]);
  });

  it('checks trust roots and revocations before they are logged', () => {
    const { r, id } = setup();
    expect(code(() => r.checkTrustRoot({ name: 'acme', trustedRoot: ca.trustedRoot }))).toBe('REGISTRATION_INVALID');
    expect(code(() => r.checkTrustRoot({ name: 'no-cas', trustedRoot: { ...ca.trustedRoot, certificateAuthorities: [] } }))).toBe('REGISTRATION_INVALID');
    expect(code(() => r.checkTrustRoot({ name: 'leaf-as-ca', trustedRoot: { ...ca.trustedRoot, certificateAuthorities: [{ certChain: { certificates: [{ rawBytes: leaf.der.toString('base64') }] }, validFor: { start: '2020-01-01T00:00:00Z' } }] } }))).toBe('REGISTRATION_INVALID');
    expect(code(() => r.checkTrustRoot({ name: 'fresh', trustedRoot: testCA().trustedRoot }))).toBe('VALID');
    expect(code(() => r.checkRevocation({ trustRoot: 'nope', reason: 'retired' }, 0))).toBe('REGISTRATION_INVALID');
    expect(code(() => r.checkRevocation({ trustRoot: 'acme', participantId: 'fw-ci', reason: 'retired' }, 0))).toBe('REGISTRATION_INVALID');
    expect(code(() => r.checkRevocation({ participantId: 'fw-ci', identityId: 'ab'.repeat(32), reason: 'retired' }, 0))).toBe('REGISTRATION_INVALID');
    expect(code(() => r.checkRevocation({ participantId: 'fw-ci', identityId: id, reason: 'compromise', effectiveTime: '2026-01-02T00:00:00Z', effectiveUntil: '2026-01-01T00:00:00Z' }, 0))).toBe('REGISTRATION_INVALID');
    expect(code(() => r.checkRevocation({ participantId: 'fw-ci', identityId: id, reason: 'compromise', effectiveUntil: '2026-01-01T00:00:00Z' }, 0))).toBe('REGISTRATION_INVALID');
    expect(code(() => r.checkRevocation({ reason: 'retired' }, 0))).toBe('REGISTRATION_INVALID');
  });
});

describe("the shared core on real public-good bundles (sigstore-js's fixtures)", () => {
  const fixtures = JSON.parse(readFileSync(new URL('../vectors/sigstore-js/bundles.json', import.meta.url), 'utf8'));
  const publicGood = readTrustRoot(JSON.parse(readFileSync(new URL('../../attestations/trust/sigstore-public-good.trusted_root.json', import.meta.url), 'utf8')));
  const cases: Array<[string, { verificationMaterial: { tlogEntries: Array<{ integratedTime: string }> }; dsseEnvelope: { payload: string; signatures: Array<{ sig: string }> } }, string]> = [
    ['v0.1, Rekor intoto 0.0.2', fixtures.valid.v1.dsse.withSigningCert, 'intoto'],
    ['v0.3, Rekor dsse 0.0.1', fixtures.valid.v3.dsse.withSigningCert, 'dsse'],
  ];
  for (const [name, bundle] of cases) {
    it(`${name}: the Rekor entry gives the signing time, the Fulcio chain verifies then and not now`, () => {
      const chain = bundleCertificates(bundle)!;
      const envelope = { payload: Buffer.from(bundle.dsseEnvelope.payload, 'base64'), signature: Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64') };
      const times = ownLogTimes(bundle.verificationMaterial.tlogEntries, publicGood, envelope, chain[0]!);
      const logged = Number(bundle.verificationMaterial.tlogEntries[0]!.integratedTime);
      expect(times).toEqual([logged]);
      const now = Math.floor(Date.now() / 1000);
      const v = verifyCertificateSigner(chain, publicGood, now, times);
      expect(v).toMatchObject({ at: logged, source: 'log entry' });
      expect(v.chain.leaf.subjectAlternativeNames).toEqual(['brian@dehamer.com']);
      // Without the entry, or with another signature or statement, there is no time, and the certificate has long expired.
      expect(() => verifyCertificateSigner(chain, publicGood, now, [])).toThrow(CertificateError);
      expect(ownLogTimes(bundle.verificationMaterial.tlogEntries, publicGood, { ...envelope, signature: Buffer.alloc(envelope.signature.length) }, chain[0]!)).toEqual([]);
      expect(ownLogTimes(bundle.verificationMaterial.tlogEntries, publicGood, { ...envelope, payload: Buffer.from('goodbye') }, chain[0]!)).toEqual([]);
      // An entry whose time was altered fails its signed entry timestamp.
      const altered = bundle.verificationMaterial.tlogEntries.map((t) => ({ ...t, integratedTime: String(logged + 1) }));
      expect(ownLogTimes(altered, publicGood, envelope, chain[0]!)).toEqual([]);
      // A root without that log gives no time either.
      expect(ownLogTimes(bundle.verificationMaterial.tlogEntries, { ...publicGood, logs: [] }, envelope, chain[0]!)).toEqual([]);
    });
  }
});
