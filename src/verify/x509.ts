/**
 * X.509 certificate chains for certificate-signed bundles (Fulcio's, a private Sigstore
 * instance's, an organisation CA's), checked in the shared verification core: pure, no Node API,
 * so the CLI, the server and the page check them the same way. What is read is exactly what the
 * checks need: the signed part's bytes as they are, names as their DER bytes, validity, the public
 * key, CA constraints, the subject alternative names and the Fulcio OIDC issuer. ECDSA P-256 and
 * P-384 signatures (what Fulcio and Sigstore instances use) are verified with @noble/curves.
 */
import { p256, p384 } from '@noble/curves/nist.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { bytesEqual, fromBase64 } from '../log/bytes.js';

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
  constructor(
    readonly code: 'CERTIFICATE_MALFORMED' | 'CERTIFICATE_UNTRUSTED' | 'CERTIFICATE_NOT_VALID_AT' | 'CERTIFICATE_SIGNATURE_INVALID' | 'CERTIFICATE_UNSUPPORTED',
    message: string,
  ) {
    super(message);
  }
}

const bad = (message: string) => new CertificateError('CERTIFICATE_MALFORMED', message);

/** One DER element: its tag, where its content starts and ends, and where the element started. */
interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/** Largest certificate read (a chain's certificates are a few kilobytes each). */
export const MAX_CERTIFICATE_BYTES = 16 * 1024;

function readTlv(b: Uint8Array, at: number, limit = b.length): Tlv {
  if (at + 2 > limit) throw bad('truncated element');
  const tag = b[at]!;
  if ((tag & 0x1f) === 0x1f) throw bad('multi-byte tags are not used in certificates');
  let len = b[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3) throw bad('unsupported length');
    if (p + n > limit) throw bad('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    // DER: the shortest form only.
    if (len < 0x80 || (n > 1 && b[p] === 0)) throw bad('length not in DER form');
    p += n;
  }
  if (p + len > limit) throw bad('element runs past its container');
  return { tag, start: at, contentStart: p, end: p + len };
}

/** The elements inside a constructed element, in order. */
function children(b: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.contentStart; p < t.end; ) {
    const c = readTlv(b, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) throw bad(`${what} is missing or not where it belongs`);
  return t;
}

function oid(b: Uint8Array, t: Tlv): string {
  const bytes = b.subarray(t.contentStart, t.end);
  if (bytes.length === 0) throw bad('empty object identifier');
  const parts: number[] = [];
  let v = 0;
  for (const x of bytes) {
    v = v * 128 + (x & 0x7f);
    if (!(x & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  const first = parts.shift()!;
  return [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80, ...parts].join('.');
}

const text = new TextDecoder('utf-8', { fatal: true });

/** UTCTime or GeneralizedTime (Z) to milliseconds since the epoch. */
function time(b: Uint8Array, t: Tlv): number {
  const s = text.decode(b.subarray(t.contentStart, t.end));
  const m = t.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : t.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) throw bad(`unreadable time ${s}`);
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const CURVES: Record<string, 'P-256' | 'P-384'> = { '1.2.840.10045.3.1.7': 'P-256', '1.3.132.0.34': 'P-384' };
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const ECDSA_SHA384 = '1.2.840.10045.4.3.3';
const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE = '2.5.29.15';
const SUBJECT_ALT_NAME = '2.5.29.17';
/** Fulcio's OIDC issuer: v1 (raw string) and v2 (DER UTF8String). */
const FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

export interface Certificate {
  /** The whole certificate, DER. */
  readonly der: Uint8Array;
  /** The signed part, the bytes as they are. */
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
  /** Names as DER bytes (chaining compares them byte for byte). */
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  /** SubjectPublicKeyInfo DER, its curve and its point. */
  readonly spki: Uint8Array;
  readonly curve: 'P-256' | 'P-384' | undefined;
  readonly point: Uint8Array;
  readonly isCA: boolean;
  readonly pathLength: number | undefined;
  /** keyCertSign is set (or there is no key usage extension). */
  readonly canSignCertificates: boolean;
  /** rfc822Name and URI subject alternative names. */
  readonly subjectAlternativeNames: readonly string[];
  /** The OIDC issuer Fulcio recorded, if any. */
  readonly oidcIssuer: string | undefined;
}

export function parseCertificate(der: Uint8Array): Certificate {
  if (der.length > MAX_CERTIFICATE_BYTES) throw bad(`a certificate is at most ${MAX_CERTIFICATE_BYTES} bytes`);
  const top = readTlv(der, 0);
  if (top.tag !== 0x30 || top.end !== der.length) throw bad('not one DER certificate');
  const [tbsT, algT, sigT] = children(der, top);
  expectTag(tbsT, 0x30, 'the signed part');
  const alg = children(der, expectTag(algT, 0x30, 'the signature algorithm'));
  const signatureAlgorithm = oid(der, expectTag(alg[0], 0x06, 'the signature algorithm'));
  const sig = expectTag(sigT, 0x03, 'the signature');
  if (der[sig.contentStart] !== 0) throw bad('the signature has unused bits');
  const tbsParts = children(der, tbsT!);
  let i = 0;
  if (tbsParts[0]?.tag === 0xa0) i++; // version
  expectTag(tbsParts[i++], 0x02, 'the serial number');
  expectTag(tbsParts[i++], 0x30, 'the inner signature algorithm');
  const issuerT = expectTag(tbsParts[i++], 0x30, 'the issuer');
  const validity = children(der, expectTag(tbsParts[i++], 0x30, 'the validity'));
  const subjectT = expectTag(tbsParts[i++], 0x30, 'the subject');
  const spkiT = expectTag(tbsParts[i++], 0x30, 'the public key');
  const [spkiAlgT, keyT] = children(der, spkiT);
  const spkiAlg = children(der, expectTag(spkiAlgT, 0x30, 'the key algorithm'));
  const keyAlg = oid(der, expectTag(spkiAlg[0], 0x06, 'the key algorithm'));
  const curve = keyAlg === EC_PUBLIC_KEY && spkiAlg[1]?.tag === 0x06 ? CURVES[oid(der, spkiAlg[1])] : undefined;
  const key = expectTag(keyT, 0x03, 'the key bits');
  if (der[key.contentStart] !== 0) throw bad('the key has unused bits');
  const extensions = new Map<string, Uint8Array>();
  const extWrap = tbsParts.slice(i).find((t) => t.tag === 0xa3);
  if (extWrap) {
    const list = children(der, expectTag(children(der, extWrap)[0], 0x30, 'the extensions'));
    for (const e of list) {
      const parts = children(der, expectTag(e, 0x30, 'an extension'));
      const id = oid(der, expectTag(parts[0], 0x06, 'an extension id'));
      const value = expectTag(parts[parts.length - 1], 0x04, 'an extension value');
      if (extensions.has(id)) throw bad(`extension ${id} appears twice`);
      extensions.set(id, der.subarray(value.contentStart, value.end));
    }
  }
  let isCA = false;
  let pathLength: number | undefined;
  const bc = extensions.get(BASIC_CONSTRAINTS);
  if (bc) {
    const seq = readTlv(bc, 0);
    for (const c of children(bc, seq)) {
      if (c.tag === 0x01) isCA = bc[c.contentStart] !== 0;
      if (c.tag === 0x02) pathLength = bc.subarray(c.contentStart, c.end).reduce((n, x) => n * 256 + x, 0);
    }
  }
  let canSignCertificates = true;
  const ku = extensions.get(KEY_USAGE);
  if (ku) {
    const bits = readTlv(ku, 0);
    canSignCertificates = bits.end - bits.contentStart >= 2 && (ku[bits.contentStart + 1]! & 0x04) !== 0;
  }
  const subjectAlternativeNames: string[] = [];
  const san = extensions.get(SUBJECT_ALT_NAME);
  if (san) {
    for (const n of children(san, readTlv(san, 0))) {
      if (n.tag === 0x81 || n.tag === 0x86) subjectAlternativeNames.push(text.decode(san.subarray(n.contentStart, n.end)));
    }
  }
  let oidcIssuer: string | undefined;
  const v2 = extensions.get(FULCIO_ISSUER_V2);
  if (v2) {
    const s = readTlv(v2, 0);
    oidcIssuer = text.decode(v2.subarray(s.contentStart, s.end));
  } else {
    const v1 = extensions.get(FULCIO_ISSUER_V1);
    if (v1) oidcIssuer = text.decode(v1);
  }
  return {
    der,
    tbs: der.subarray(tbsT!.start, tbsT!.end),
    signatureAlgorithm,
    signature: der.subarray(sig.contentStart + 1, sig.end),
    issuer: der.subarray(issuerT.start, issuerT.end),
    subject: der.subarray(subjectT.start, subjectT.end),
    notBefore: time(der, expectTag(validity[0], validity[0]?.tag === 0x18 ? 0x18 : 0x17, 'notBefore')),
    notAfter: time(der, expectTag(validity[1], validity[1]?.tag === 0x18 ? 0x18 : 0x17, 'notAfter')),
    spki: der.subarray(spkiT.start, spkiT.end),
    curve,
    point: der.subarray(key.contentStart + 1, key.end),
    isCA,
    pathLength,
    canSignCertificates,
    subjectAlternativeNames,
    oidcIssuer,
  };
}

/** True when `issuer`'s key signed `cert` (ECDSA P-256/SHA-256 or P-384/SHA-384, DER signatures). */
export function signedBy(cert: Certificate, issuer: Certificate): boolean {
  const curve = issuer.curve === 'P-256' ? p256 : issuer.curve === 'P-384' ? p384 : undefined;
  if (!curve) throw new CertificateError('CERTIFICATE_UNSUPPORTED', 'only ECDSA P-256 and P-384 issuer keys are supported');
  const hashFor = cert.signatureAlgorithm === ECDSA_SHA256 ? 'P-256' : cert.signatureAlgorithm === ECDSA_SHA384 ? 'P-384' : undefined;
  if (!hashFor) throw new CertificateError('CERTIFICATE_UNSUPPORTED', `signature algorithm ${cert.signatureAlgorithm} is not supported`);
  try {
    // The digest is the algorithm's (SHA-256 or SHA-384), whatever the curve.
    const digest = hashFor === 'P-256' ? sha256(cert.tbs) : sha384(cert.tbs);
    return curve.verify(cert.signature, digest, issuer.point, { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false;
  }
}

/** A certificate authority a trusted root names: its chain (leaf-most first) and when it was trusted. */
export interface TrustedAuthority {
  readonly certificates: readonly Uint8Array[];
  /** Milliseconds; the authority counts for signing times in [start, end). */
  readonly start: number;
  readonly end?: number;
}

export interface VerifiedChain {
  readonly leaf: Certificate;
  /** The certificates from the leaf to the trusted one, inclusive. */
  readonly path: readonly Certificate[];
}

/**
 * Checks that `chain[0]` (the signing certificate; further entries are intermediates the bundle
 * carries) leads through CA certificates to a certificate of a trusted authority, every signature
 * verifying and every certificate valid at `at` (ms, the verified signing time), and the authority
 * trusted then. Names chain byte for byte; path lengths are honoured.
 */
export function verifyChain(chain: readonly Uint8Array[], authorities: readonly TrustedAuthority[], at: number): VerifiedChain {
  if (chain.length === 0 || chain.length > 8) throw bad('a bundle carries 1 to 8 certificates');
  const given = chain.map(parseCertificate);
  const leaf = given[0]!;
  let lastReason: CertificateError = new CertificateError('CERTIFICATE_UNTRUSTED', 'the certificate does not chain to a certificate authority of the trusted roots');
  for (const authority of authorities) {
    if (at < authority.start || (authority.end !== undefined && at >= authority.end)) continue;
    const anchors = authority.certificates.map(parseCertificate);
    const pool = [...given.slice(1), ...anchors];
    const path: Certificate[] = [leaf];
    let current = leaf;
    for (let depth = 0; depth < 10; depth++) {
      if (at < current.notBefore || at > current.notAfter) {
        lastReason = new CertificateError('CERTIFICATE_NOT_VALID_AT', `a certificate in the chain is not valid at ${new Date(at).toISOString()}`);
        break;
      }
      if (anchors.some((a) => bytesEqual(a.der, current.der))) return { leaf, path };
      const parent = pool.find((p) => bytesEqual(p.subject, current.issuer) && !bytesEqual(p.der, current.der));
      if (!parent) break;
      if (!parent.isCA || !parent.canSignCertificates) {
        lastReason = new CertificateError('CERTIFICATE_UNTRUSTED', 'a certificate in the chain is signed by one that is not a certificate authority');
        break;
      }
      // Certificates between the parent and the leaf that are CAs count against its path length.
      if (parent.pathLength !== undefined && path.length - 1 > parent.pathLength) {
        lastReason = new CertificateError('CERTIFICATE_UNTRUSTED', 'the chain is longer than a certificate authority allows');
        break;
      }
      if (!signedBy(current, parent)) {
        lastReason = new CertificateError('CERTIFICATE_SIGNATURE_INVALID', 'a certificate in the chain is not signed by its issuer');
        break;
      }
      path.push(parent);
      current = parent;
    }
  }
  throw lastReason;
}

/** The certificate authorities of a Sigstore trusted root (JSON), with their validity windows. */
export function authoritiesOf(trustedRoot: unknown): TrustedAuthority[] {
  const list = (trustedRoot as { certificateAuthorities?: unknown } | null)?.certificateAuthorities;
  if (!Array.isArray(list)) return [];
  return list.map((ca: { certChain?: { certificates?: Array<{ rawBytes?: unknown }> }; validFor?: { start?: unknown; end?: unknown } }) => {
    const certificates = (ca?.certChain?.certificates ?? []).map((c) => {
      if (typeof c?.rawBytes !== 'string') throw bad('a trusted root certificate is not base64');
      return fromBase64(c.rawBytes);
    });
    const start = typeof ca?.validFor?.start === 'string' ? Date.parse(ca.validFor.start) : Number.NaN;
    if (!Number.isFinite(start)) throw bad('a trusted certificate authority has no start of validity');
    const end = typeof ca?.validFor?.end === 'string' ? Date.parse(ca.validFor.end) : undefined;
    return { certificates, start, ...(end !== undefined && Number.isFinite(end) && { end }) };
  });
}
