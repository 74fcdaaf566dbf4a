/**
 * `verifyBundle` as a general Sigstore verifier, on bundles other clients made (sigstore-js's
 * fixtures: public-good Fulcio certificates, Rekor entries) and on this ledger's own: each
 * verifies or fails as its source says, and a failure names the check that failed.
 */
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStatement } from '../../src/attest/sign.js';
import { BundleVerificationError, verifyBundle, type BundleExpectations } from '../../src/attest/verify.js';
import { submitBundle } from '../../src/client/graphql.js';
import { outcomeCode, startNode, type TestNode } from '../helpers.js';
import { componentStatement, party, register } from './fixtures.js';

const fixtures = JSON.parse(readFileSync(new URL('../vectors/sigstore-js/bundles.json', import.meta.url), 'utf8'));
const publicGood = JSON.parse(readFileSync(new URL('../../attestations/trust/sigstore-public-good.trusted_root.json', import.meta.url), 'utf8'));
const artifact = Buffer.from(fixtures.artifact, 'base64');
const brian: BundleExpectations['identity'] = { subject: 'brian@dehamer.com', issuer: 'https://github.com/login/oauth' };

const code = (f: () => unknown) => outcomeCode(f, BundleVerificationError);

const certSigned: Array<[string, unknown]> = [
  ['v0.1 message signature', fixtures.valid.v1.messageSignature.withSigningCert],
  ['v0.2 message signature', fixtures.valid.v2.messageSignature.withSigningCert],
  ['v0.3 message signature', fixtures.valid.v3.messageSignature.withSigningCert],
  ['v0.1 DSSE', fixtures.valid.v1.dsse.withSigningCert],
  ['v0.3 DSSE', fixtures.valid.v3.dsse.withSigningCert],
];

describe("other Sigstore clients' bundles, against the shipped public-good root", () => {
  for (const [name, bundle] of certSigned) {
    it(`${name} (Fulcio certificate, Rekor entry) verifies for its identity and artifact, and for no other`, () => {
      const v = verifyBundle(bundle, [publicGood], { identity: brian, artifact });
      expect(v.identity).toEqual({ subjectAlternativeName: 'brian@dehamer.com', issuer: 'https://github.com/login/oauth' });
      expect(v.logIndex).toBeGreaterThan(0);
      // Another identity, another issuer, a look-alike (the identity is matched whole), another artifact.
      expect(code(() => verifyBundle(bundle, [publicGood], { identity: { ...brian!, subject: 'mallory@example.com' }, artifact }))).toBe('IDENTITY_MISMATCH');
      expect(code(() => verifyBundle(bundle, [publicGood], { identity: { ...brian!, issuer: 'https://accounts.google.com' }, artifact }))).toBe('IDENTITY_MISMATCH');
      expect(code(() => verifyBundle(bundle, [publicGood], { identity: { ...brian!, subject: 'brian@dehamer.co' }, artifact }))).toBe('IDENTITY_MISMATCH');
      expect(code(() => verifyBundle(bundle, [publicGood], { identity: brian, artifact: Buffer.from('goodbye, world!') }))).toBe('ARTIFACT_MISMATCH');
      // A pattern is matched against the whole identity, anchored or not: no part of a name, no empty pattern.
      expect(code(() => verifyBundle(bundle, [publicGood], { identity: { ...brian!, subject: /^brian@dehamer\.com$/ }, artifact }))).toBe('VALID');
      expect(code(() => verifyBundle(bundle, [publicGood], { identity: { ...brian!, subject: /[a-z]+@dehamer\.com/ }, artifact }))).toBe('VALID');
      expect(code(() => verifyBundle(bundle, [publicGood], { identity: { ...brian!, subject: /rian@dehamer\.co/ }, artifact }))).toBe('IDENTITY_MISMATCH');
      expect(code(() => verifyBundle(bundle, [publicGood], { identity: { ...brian!, subject: new RegExp('') }, artifact }))).toBe('IDENTITY_MISMATCH');
    });
  }

  it('a DSSE bundle can be checked against the artifact by digest alone', () => {
    const bundle = fixtures.valid.v3.dsse.withSigningCert;
    const digest = createHash('sha256').update(artifact).digest('hex');
    expect(code(() => verifyBundle(bundle, [publicGood], { identity: brian, digest }))).toBe('VALID');
    expect(code(() => verifyBundle(bundle, [publicGood], { identity: brian, digest: '0'.repeat(64) }))).toBe('ARTIFACT_MISMATCH');
  });

  it('a message signature is verified over the artifact itself: without it, it is refused', () => {
    const bundle = fixtures.valid.v1.messageSignature.withSigningCert;
    expect(code(() => verifyBundle(bundle, [publicGood], { identity: brian }))).toBe('ARTIFACT_REQUIRED');
  });

  it('a key-signed DSSE bundle (hint "key-1") verifies with its key, and not with another', () => {
    const bundle = fixtures.valid.v1.dsse.withPublicKey;
    const key = createPublicKey(fixtures.publicKeys['key-1']);
    expect(code(() => verifyBundle(bundle, [publicGood], { publicKeys: [key] }))).toBe('VALID');
    const other = party('someone-else').publicKey;
    expect(code(() => verifyBundle(bundle, [publicGood], { publicKeys: [other] }))).toBe('SIGNATURE_INVALID');
    // With several keys given, each is tried: the right one among others verifies.
    expect(code(() => verifyBundle(bundle, [publicGood], { publicKeys: [other, key] }))).toBe('VALID');
    // A key of a type Pedigree does not verify is the caller's error, named as such.
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(code(() => verifyBundle(bundle, [publicGood], { publicKeys: [rsa] }))).toBe('KEY_UNSUPPORTED');
  });

  it('fails the invalid fixtures as their source says: an expired certificate, a payload that is not the logged one', () => {
    expect(code(() => verifyBundle(fixtures.invalid.v1.messageSignature.invalidExpiredCert, [publicGood], { identity: brian, artifact }))).toBe('CERTIFICATE_NOT_VALID_AT_SIGNING');
    expect(code(() => verifyBundle(fixtures.invalid.v1.dsse.invalidBadSignature, [publicGood], { identity: brian }))).toBe('TLOG_BODY_MISMATCH');
  });

  it('says which trust is missing: a log no root names, a certificate authority no root names', () => {
    const bundle = fixtures.valid.v3.messageSignature.withSigningCert;
    const noLogs = { ...publicGood, tlogs: [] };
    expect(code(() => verifyBundle(bundle, [noLogs], { identity: brian, artifact }))).toBe('UNTRUSTED_LOG');
    const noCAs = { ...publicGood, certificateAuthorities: [] };
    expect(code(() => verifyBundle(bundle, [noCAs], { identity: brian, artifact }))).toBe('UNTRUSTED_ROOT');
    // Two roots together trust what each does.
    expect(code(() => verifyBundle(bundle, [noLogs, noCAs], { identity: brian, artifact }))).toBe('VALID');
  });

  it('refuses what is not a trusted root, whatever its shape', () => {
    const bundle = fixtures.valid.v3.dsse.withSigningCert;
    for (const bad of [null, [1, 2], 'root', { tlogs: 5 }, { ...publicGood, mediaType: 'application/json' }]) {
      expect(code(() => verifyBundle(bundle, [bad], { identity: brian })), JSON.stringify(bad)?.slice(0, 40)).toBe('TRUSTED_ROOT_INVALID');
    }
  });

  it('refuses to verify without being told whom to expect', () => {
    expect(code(() => verifyBundle(fixtures.valid.v3.dsse.withSigningCert, [publicGood], {}))).toBe('SIGNER_NOT_NAMED');
    expect(code(() => verifyBundle(fixtures.valid.v1.dsse.withPublicKey, [publicGood], {}))).toBe('SIGNER_NOT_NAMED');
  });
});

describe('Rekor v2 entries and RFC 3161 timestamps (sigstore-js verifier fixtures)', () => {
  const t = JSON.parse(readFileSync(new URL('../vectors/sigstore-js/timestamped.json', import.meta.url), 'utf8'));
  const hello = Buffer.from(t.artifact, 'base64');
  const b = (name: string) => t.bundles[name];

  it('verifies bundles logged in Rekor v2, with their timestamps, against the shipped public-good root', () => {
    for (const name of ['v0.3 DSSE, Rekor v2 dsse 0.0.2, RFC 3161 timestamp', 'v0.3 message signature, Rekor v2 hashedrekord 0.0.2, RFC 3161 timestamp']) {
      const v = verifyBundle(b(name), [publicGood], { identity: brian, artifact: hello });
      expect(v.identity?.subjectAlternativeName, name).toBe('brian@dehamer.com');
      expect(v.logIndex, name).toBeGreaterThan(0);
      expect(code(() => verifyBundle(b(name), [publicGood], { identity: brian, artifact: Buffer.from('other') })), name).toBe('ARTIFACT_MISMATCH');
    }
  });

  it('verifies a Rekor intoto 0.0.2 entry', () => {
    expect(code(() => verifyBundle(b('v0.1 DSSE, Rekor intoto 0.0.2'), [t.trustedRoot], { identity: brian }))).toBe('VALID');
  });

  it('accepts a timestamp alone only from a timestamp authority a trusted root names', () => {
    const tsaOnly = b('v0.3 message signature, RFC 3161 timestamp only');
    const v = verifyBundle(tsaOnly, [t.trustedRoot], { identity: brian, artifact: hello });
    expect(v.logIndex).toBe(-1);
    expect(code(() => verifyBundle(tsaOnly, [publicGood], { identity: brian, artifact: hello }))).toBe('NOT_LOGGED');
  });
});

describe("this ledger's bundles, by the same verifier", () => {
  let node: TestNode;
  let completed: unknown;
  let root: unknown;
  const supplier = party('gv-supplier');
  beforeAll(async () => {
    node = await startNode();
    await register(node.url, node.adminKey, supplier, ['supplier']);
    const st = componentStatement('gv-supplier', 'P', ['S1']);
    completed = (await submitBundle(node.url, await signStatement(st, supplier.privateKey))).bundle;
    root = node.attestations.trustedRoot();
  });
  afterAll(() => node.cleanup());

  it('verify with the ledger root and the signer key, with both roots given, and not with the public-good root alone', () => {
    const key = supplier.publicKey;
    expect(code(() => verifyBundle(completed, [root], { publicKeys: [key] }))).toBe('VALID');
    expect(code(() => verifyBundle(completed, [root, publicGood], { publicKeys: [key] }))).toBe('VALID');
    expect(code(() => verifyBundle(completed, [publicGood], { publicKeys: [key] }))).toBe('UNTRUSTED_LOG');
  });
});
