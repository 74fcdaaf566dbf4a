import { generateKeyPairSync } from 'node:crypto';
/**
 * The shared core's certificate chain check against real public-good Sigstore certificates
 * (sigstore-js's fixtures) and the shipped public-good trusted root: it agrees with
 * @sigstore/verify on what chains, and says why what does not.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { X509Certificate } from '@sigstore/core';
import { CertificateError, authoritiesOf, parseCertificate, verifyChain } from '../../src/verify/x509.js';
import { outcomeCode } from '../helpers.js';
import { makeCert, seq, testCA, workflowLeaf } from '../x509-ca.js';

const fixtures = JSON.parse(readFileSync(new URL('../vectors/sigstore-js/bundles.json', import.meta.url), 'utf8'));
const publicGood = JSON.parse(readFileSync(new URL('../../attestations/trust/sigstore-public-good.trusted_root.json', import.meta.url), 'utf8'));
const authorities = authoritiesOf(publicGood);

type Bundle = { verificationMaterial: { x509CertificateChain?: { certificates: Array<{ rawBytes: string }> }; certificate?: { rawBytes: string }; tlogEntries: Array<{ integratedTime: string }> } };
function chainOf(b: Bundle): Uint8Array[] {
  const vm = b.verificationMaterial;
  const raw = vm.x509CertificateChain ? vm.x509CertificateChain.certificates.map((c) => c.rawBytes) : [vm.certificate!.rawBytes];
  return raw.map((r) => Buffer.from(r, 'base64'));
}
const signedAt = (b: Bundle) => Number(b.verificationMaterial.tlogEntries[0]!.integratedTime) * 1000;

const why = (f: () => unknown) => outcomeCode(f, CertificateError);

const valid: Array<[string, Bundle]> = [
  ['v0.1 message signature (leaf, intermediate, root)', fixtures.valid.v1.messageSignature.withSigningCert],
  ['v0.2 message signature', fixtures.valid.v2.messageSignature.withSigningCert],
  ['v0.3 message signature (leaf only)', fixtures.valid.v3.messageSignature.withSigningCert],
  ['v0.1 DSSE', fixtures.valid.v1.dsse.withSigningCert],
  ['v0.3 DSSE (leaf only)', fixtures.valid.v3.dsse.withSigningCert],
];

describe('certificate chains in the shared verification core', () => {
  for (const [name, bundle] of valid) {
    it(`${name}: the Fulcio certificate chains to the public-good root at its signing time, and names its identity`, () => {
      const { leaf, path } = verifyChain(chainOf(bundle), authorities, signedAt(bundle));
      expect(leaf.subjectAlternativeNames).toEqual(['brian@dehamer.com']);
      expect(leaf.oidcIssuer).toBe('https://github.com/login/oauth');
      expect(leaf.isCA).toBe(false);
      expect(path.length).toBeGreaterThanOrEqual(2);
      expect(path.at(-1)!.isCA).toBe(true);
    });
  }

  it('refuses a certificate outside its validity at the signing time (the expired-certificate fixture, and a later time)', () => {
    const expired = fixtures.invalid.v1.messageSignature.invalidExpiredCert as Bundle;
    expect(why(() => verifyChain(chainOf(expired), authorities, signedAt(expired)))).toBe('CERTIFICATE_NOT_VALID_AT');
    const ok = fixtures.valid.v3.dsse.withSigningCert as Bundle;
    const leaf = parseCertificate(chainOf(ok)[0]!);
    expect(why(() => verifyChain(chainOf(ok), authorities, leaf.notAfter + 1000))).toBe('CERTIFICATE_NOT_VALID_AT');
  });

  it('refuses a chain to no trusted authority, or to one not trusted at that time', () => {
    const b = fixtures.valid.v3.dsse.withSigningCert as Bundle;
    expect(why(() => verifyChain(chainOf(b), [], signedAt(b)))).toBe('CERTIFICATE_UNTRUSTED');
    const closed = authorities.map((a) => ({ ...a, end: a.start + 1 }));
    expect(why(() => verifyChain(chainOf(b), closed, signedAt(b)))).toBe('CERTIFICATE_UNTRUSTED');
  });

  it('refuses a certificate whose signed part was altered, and chains that lead to no trusted authority', () => {
    const b = fixtures.valid.v3.dsse.withSigningCert as Bundle;
    const der = Buffer.from(chainOf(b)[0]!);
    const leaf = parseCertificate(der);
    // Flip a byte inside the subject alternative name (in the signed part, still well formed).
    const at = der.indexOf(Buffer.from('brian@dehamer.com'));
    expect(at).toBeGreaterThan(0);
    const forged = Buffer.from(der);
    forged[at] = 'm'.charCodeAt(0);
    expect(parseCertificate(forged).subjectAlternativeNames).toEqual(['mrian@dehamer.com']);
    expect(why(() => verifyChain([forged], authorities, signedAt(b)))).toBe('CERTIFICATE_SIGNATURE_INVALID');
    // The leaf offered as its own intermediate is no way to a trusted authority.
    expect(why(() => verifyChain([der, der], [], signedAt(b)))).toBe('CERTIFICATE_UNTRUSTED');
    // A leaf (not a certificate authority) trusted as an anchor vouches for nothing it did not sign.
    const other = chainOf(fixtures.valid.v1.dsse.withSigningCert)[0]!;
    expect(why(() => verifyChain([other], [{ certificates: [der], start: 0 }], signedAt(fixtures.valid.v1.dsse.withSigningCert)))).toBe('CERTIFICATE_UNTRUSTED');
    expect(leaf.subjectAlternativeNames).toEqual(['brian@dehamer.com']);
  });

  it('reads no certificate from malformed bytes', () => {
    const der = chainOf(fixtures.valid.v3.dsse.withSigningCert)[0]!;
    for (const bytes of [new Uint8Array(), der.subarray(0, 100), Buffer.concat([der, Buffer.from([0])]), Buffer.from('not a certificate')]) {
      expect(why(() => parseCertificate(bytes))).toBe('CERTIFICATE_MALFORMED');
    }
  });
});

describe('certificate chains a test CA makes (root → intermediate → workflow leaf)', () => {
  const now = Date.now();
  const identity = 'https://github.com/acme-medical/infusafe-fw/.github/workflows/release.yml@refs/tags/v2.4.2';
  const { root, intermediate, trustedRoot } = testCA(now);
  const cas = authoritiesOf(trustedRoot);

  it('chains a short-lived P-256 leaf through a P-384 intermediate, and reads the workflow identity and its issuer as @sigstore/core does', () => {
    const leaf = workflowLeaf(intermediate, identity, undefined, now);
    const { leaf: read, path } = verifyChain([leaf.der], cas, now);
    expect(read.subjectAlternativeNames).toEqual([identity]);
    expect(read.oidcIssuer).toBe('https://token.actions.githubusercontent.com');
    expect(path.map((c) => c.isCA)).toEqual([false, true]);
    const asBuffer = (b: Buffer) => Buffer.from(b.toString('base64'), 'base64');
    const theirs = X509Certificate.parse(asBuffer(leaf.der));
    expect(theirs.subjectAltName).toBe(identity);
    expect(theirs.verify(X509Certificate.parse(asBuffer(intermediate.der)))).toBe(true);
    expect(Buffer.from(read.spki)).toEqual(leaf.publicKey.export({ format: 'der', type: 'spki' }));
  });

  it('refuses what a CA must never issue: a leaf signed by a leaf, a path longer than allowed, a CA without keyCertSign', () => {
    const leaf = workflowLeaf(intermediate, identity, undefined, now);
    const byLeaf = workflowLeaf(leaf, identity, undefined, now);
    expect(why(() => verifyChain([byLeaf.der, leaf.der], cas, now))).toBe('CERTIFICATE_UNTRUSTED');
    const sub = makeCert({ cn: 'sub-ca', issuer: intermediate, curve: 'P-256', ca: true, notBefore: now - 60_000, notAfter: now + 3600_000 });
    const deep = workflowLeaf(sub, identity, undefined, now);
    expect(why(() => verifyChain([deep.der, sub.der], cas, now))).toBe('CERTIFICATE_UNTRUSTED');
    const noSign = makeCert({ cn: 'no-sign', issuer: root, curve: 'P-384', ca: true, keyCertSign: false, notBefore: now - 60_000, notAfter: now + 3600_000 });
    const fromNoSign = workflowLeaf(noSign, identity, undefined, now);
    expect(why(() => verifyChain([fromNoSign.der, noSign.der], cas, now))).toBe('CERTIFICATE_UNTRUSTED');
    // The same kind of sub-CA under the root (no path length) is fine.
    const okSub = makeCert({ cn: 'ok-sub', issuer: root, curve: 'P-384', ca: true, notBefore: now - 60_000, notAfter: now + 3600_000 });
    expect(why(() => verifyChain([workflowLeaf(okSub, identity, undefined, now).der, okSub.der], cas, now))).toBe('VALID');
  });

  it('refuses a leaf outside its ten minutes, and one from another CA with the same names', () => {
    const leaf = workflowLeaf(intermediate, identity, undefined, now);
    expect(why(() => verifyChain([leaf.der], cas, now + 3600_000))).toBe('CERTIFICATE_NOT_VALID_AT');
    const impostor = testCA(now); // same names, other keys
    const forged = workflowLeaf(impostor.intermediate, identity, undefined, now);
    expect(why(() => verifyChain([forged.der, impostor.intermediate.der], cas, now))).toBe('CERTIFICATE_SIGNATURE_INVALID');
  });
});

describe('what an attacker controls in a chain (from an attack pass)', () => {
  const now = Date.now();
  const identity = 'https://github.com/acme-medical/infusafe-fw/.github/workflows/release.yml@refs/tags/v2.4.2';
  const { root, intermediate, trustedRoot } = testCA(now);
  const cas = authoritiesOf(trustedRoot);
  const leafWith = (o: Partial<Parameters<typeof makeCert>[0]>) => makeCert({ cn: 'sigstore', issuer: intermediate, notBefore: now - 60_000, notAfter: now + 600_000, uris: [identity], ...o });

  it('checks at no time without one: a missing signing time is refused, not ignored', () => {
    const leaf = workflowLeaf(intermediate, identity, undefined, now);
    expect(why(() => verifyChain([leaf.der], cas, Number.NaN))).toBe('CERTIFICATE_NOT_VALID_AT');
  });

  it('refuses a certificate with a critical extension it does not understand (name constraints included)', () => {
    expect(why(() => verifyChain([leafWith({ extensions: [{ id: '1.2.3.4.5', critical: true, value: seq() }] }).der], cas, now))).toBe('CERTIFICATE_UNSUPPORTED');
    const constrained = makeCert({ cn: 'constrained', issuer: root, curve: 'P-384', ca: true, notBefore: now - 60_000, notAfter: now + 3600_000, extensions: [{ id: '2.5.29.30', critical: true, value: seq() }] });
    const leaf = workflowLeaf(constrained, 'https://evil.example/x', undefined, now);
    expect(why(() => verifyChain([leaf.der, constrained.der], cas, now))).toBe('CERTIFICATE_UNSUPPORTED');
    // The same extension, not critical, is only information.
    expect(why(() => verifyChain([leafWith({ extensions: [{ id: '1.2.3.4.5', critical: false, value: seq() }] }).der], cas, now))).toBe('VALID');
  });

  it('takes only a signing certificate as the signer: not a TLS certificate, not one without digitalSignature, not a CA', () => {
    expect(why(() => verifyChain([leafWith({ eku: ['1.3.6.1.5.5.7.3.1'] }).der], cas, now))).toBe('CERTIFICATE_UNTRUSTED');
    expect(why(() => verifyChain([leafWith({ keyUsage: 0x04 }).der], cas, now))).toBe('CERTIFICATE_UNTRUSTED');
    expect(why(() => verifyChain([leafWith({ ca: true }).der], cas, now))).toBe('CERTIFICATE_UNTRUSTED');
    expect(why(() => verifyChain([intermediate.der], cas, now))).toBe('CERTIFICATE_UNTRUSTED');
  });

  it('is not misled by a decoy intermediate with the right name and another key: every candidate is tried', () => {
    const leaf = workflowLeaf(intermediate, identity, undefined, now);
    const decoy = testCA(now).intermediate; // same names, other key
    expect(why(() => verifyChain([leaf.der, decoy.der], cas, now))).toBe('VALID');
  });

  it('refuses seven decoy CAs sharing one key and name, which all sign one another, checking each signature once', () => {
    const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const self = { privateKey: keys.privateKey, name: 'test-sigstore-intermediate', curve: 'P-256' as const } as Parameters<typeof makeCert>[0]['issuer'];
    const decoys = Array.from({ length: 7 }, () => makeCert({ cn: 'test-sigstore-intermediate', issuer: self, keys, ca: true, notBefore: now - 60_000, notAfter: now + 3600_000 }));
    const leaf = makeCert({ cn: 'sigstore', issuer: self, notBefore: now - 60_000, notAfter: now + 600_000, uris: [identity] });
    let error: unknown;
    try {
      verifyChain([leaf.der, ...decoys.map((d) => d.der)], cas, now);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CertificateError);
    // Refused for what the chain is, not for running out of checks (what re-checking every ordering does).
    expect((error as Error).message).not.toMatch(/signature checks/);
  });

  it('reads text that is not UTF-8, and a signature algorithm changed outside the signed part, as malformed', () => {
    const bad = leafWith({ extensions: [{ id: '1.2.3.4.6', critical: false, value: Buffer.from([0x0c, 0x02, 0xc3, 0x28]) }], oidcIssuer: undefined });
    // A subject alternative name of invalid UTF-8.
    const san = makeCert({ cn: 'sigstore', issuer: intermediate, notBefore: now - 60_000, notAfter: now + 600_000, uris: ['\u0000'] });
    const sanBytes = Buffer.from(san.der);
    sanBytes[sanBytes.indexOf(Buffer.from([0x86, 0x01, 0x00])) + 2] = 0xc3;
    expect(why(() => parseCertificate(sanBytes))).toBe('CERTIFICATE_MALFORMED');
    expect(why(() => parseCertificate(bad.der))).toBe('VALID');
    const swapped = Buffer.from(workflowLeaf(intermediate, identity, undefined, now).der);
    // The outer algorithm identifier is the last ecdsa-with-SHA384 OID in the certificate.
    const sha384 = Buffer.from([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03]);
    swapped[swapped.lastIndexOf(sha384) + sha384.length - 1] = 0x02;
    expect(why(() => parseCertificate(swapped))).toBe('CERTIFICATE_MALFORMED');
  });

  it('refuses trusted roots whose authorities cannot be read, instead of trusting them for ever', () => {
    const ca = (trustedRoot.certificateAuthorities as Array<Record<string, unknown>>)[0]!;
    for (const broken of [
      { ...ca, validFor: { start: '2020-01-01T00:00:00Z', end: '2021-13-01T00:00:00Z' } },
      { ...ca, validFor: { start: '2020-01-01 00:00' } },
      { ...ca, certChain: { certificates: [{ rawBytes: '***' }] } },
      { ...ca, certChain: { certificates: 'x' } },
    ]) {
      expect(why(() => authoritiesOf({ ...trustedRoot, certificateAuthorities: [broken] }))).toBe('CERTIFICATE_MALFORMED');
    }
  });
});
