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
    readonly code: 'CERTIFICATE_MALFORMED' | 'CERTIFICATE_UNTRUSTED' | 'CERTIFICATE_NOT_VALID_AT' | 'CERTIFICATE_SIGNATURE_INVALID' | 'CERTIFICATE_UNSUPPORTED' | 'CERTIFICATE_EVIDENCE_UNTRUSTED',
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
  if (t.tag !== 0x06) throw bad('an object identifier was expected');
  const bytes = b.subarray(t.contentStart, t.end);
  if (bytes.length === 0 || bytes.length > 64) throw bad('object identifier of an unsupported length');
  const parts: number[] = [];
  let v = 0;
  let fresh = true;
  for (const x of bytes) {
    // DER: no leading 0x80 in a sub-identifier (the shortest form only).
    if (fresh && x === 0x80) throw bad('object identifier not in DER form');
    v = v * 128 + (x & 0x7f);
    fresh = !(x & 0x80);
    if (fresh) {
      parts.push(v);
      v = 0;
    }
  }
  if (!fresh) throw bad('truncated object identifier');
  const first = parts.shift()!;
  return [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80, ...parts].join('.');
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 (names, identities, times): anything else is a malformed certificate. */
function text(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw bad('text that is not UTF-8');
  }
}

/** UTCTime (years 1950–2049) or GeneralizedTime (2050 on), seconds and Z, to ms since the epoch. */
function time(b: Uint8Array, t: Tlv): number {
  const s = text(b.subarray(t.contentStart, t.end));
  const m = t.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : t.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) throw bad(`unreadable time ${s}`);
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900;
  else if (year < 2050) throw bad('a time before 2050 must be a UTCTime (RFC 5280)');
  const [mo, d, h, mi, se] = [2, 3, 4, 5, 6].map((i) => Number(m[i]));
  const ms = Date.UTC(year, mo! - 1, d, h, mi, se);
  const back = new Date(ms);
  // No rolling over: month 13 or 31 February is not a time.
  if (back.getUTCMonth() !== mo! - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== se) throw bad(`not a calendar time: ${s}`);
  return ms;
}

const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const CURVES: Record<string, 'P-256' | 'P-384'> = { '1.2.840.10045.3.1.7': 'P-256', '1.3.132.0.34': 'P-384' };
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const ECDSA_SHA384 = '1.2.840.10045.4.3.3';
const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE = '2.5.29.15';
const SUBJECT_ALT_NAME = '2.5.29.17';
const EXT_KEY_USAGE = '2.5.29.37';
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
/** Extensions this reader acts on; a certificate marking any other critical is refused (RFC 5280). */
const UNDERSTOOD = new Set([BASIC_CONSTRAINTS, KEY_USAGE, SUBJECT_ALT_NAME, EXT_KEY_USAGE]);
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
  /** digitalSignature is set (or there is no key usage extension). */
  readonly canSign: boolean;
  /** Whether the extended key usage lists code signing (undefined: no such extension). */
  readonly codeSigning: boolean | undefined;
  /** rfc822Name and URI subject alternative names. */
  readonly subjectAlternativeNames: readonly string[];
  /** The OIDC issuer Fulcio recorded, if any. */
  readonly oidcIssuer: string | undefined;
}

/** A DER element that must be the whole of `bytes` (an extension's value). */
function whole(bytes: Uint8Array, tag: number, what: string): Tlv {
  const t = readTlv(bytes, 0);
  if (t.tag !== tag || t.end !== bytes.length) throw bad(`${what} is not one DER element of the right type`);
  return t;
}

export function parseCertificate(der: Uint8Array): Certificate {
  if (der.length > MAX_CERTIFICATE_BYTES) throw bad(`a certificate is at most ${MAX_CERTIFICATE_BYTES} bytes`);
  const top = readTlv(der, 0);
  if (top.tag !== 0x30 || top.end !== der.length) throw bad('not one DER certificate');
  const outer = children(der, top);
  if (outer.length !== 3) throw bad('a certificate has exactly a signed part, an algorithm and a signature');
  const [tbsT, algT, sigT] = outer;
  expectTag(tbsT, 0x30, 'the signed part');
  const alg = children(der, expectTag(algT, 0x30, 'the signature algorithm'));
  const signatureAlgorithm = oid(der, expectTag(alg[0], 0x06, 'the signature algorithm'));
  // ECDSA algorithm identifiers carry no parameters (RFC 5758).
  if (alg.length !== 1) throw bad('the signature algorithm has parameters');
  const sig = expectTag(sigT, 0x03, 'the signature');
  if (sig.end - sig.contentStart < 2 || der[sig.contentStart] !== 0) throw bad('the signature has unused bits');
  const tbsParts = children(der, tbsT!);
  // Version 3 only: the extensions are what makes a certificate authority or a signer.
  const versionT = expectTag(tbsParts[0], 0xa0, 'the version');
  const version = children(der, versionT);
  if (version.length !== 1 || version[0]!.tag !== 0x02 || version[0]!.end - version[0]!.contentStart !== 1 || der[version[0]!.contentStart] !== 2) throw bad('only X.509 version 3 certificates are read');
  let i = 1;
  expectTag(tbsParts[i++], 0x02, 'the serial number');
  const innerAlgT = expectTag(tbsParts[i++], 0x30, 'the inner signature algorithm');
  // RFC 5280 4.1.1.2: the signed algorithm must be the one the signature says it uses.
  if (!bytesEqual(der.subarray(innerAlgT.start, innerAlgT.end), der.subarray(algT!.start, algT!.end))) throw bad('the signed and unsigned signature algorithms differ');
  const issuerT = expectTag(tbsParts[i++], 0x30, 'the issuer');
  const validity = children(der, expectTag(tbsParts[i++], 0x30, 'the validity'));
  if (validity.length !== 2) throw bad('the validity has two times');
  const subjectT = expectTag(tbsParts[i++], 0x30, 'the subject');
  const spkiT = expectTag(tbsParts[i++], 0x30, 'the public key');
  const [spkiAlgT, keyT] = children(der, spkiT);
  const spkiAlg = children(der, expectTag(spkiAlgT, 0x30, 'the key algorithm'));
  const keyAlg = oid(der, expectTag(spkiAlg[0], 0x06, 'the key algorithm'));
  const curve = keyAlg === EC_PUBLIC_KEY && spkiAlg[1]?.tag === 0x06 ? CURVES[oid(der, spkiAlg[1])] : undefined;
  const key = expectTag(keyT, 0x03, 'the key bits');
  if (der[key.contentStart] !== 0) throw bad('the key has unused bits');
  // Then only the optional unique IDs ([1], [2]) and the extensions ([3]), once each, in order.
  const rest = tbsParts.slice(i);
  if (rest.some((t, k) => ![0x81, 0x82, 0xa3].includes(t.tag) || (k > 0 && t.tag <= rest[k - 1]!.tag))) throw bad('unexpected elements in the signed part');
  const extensions = new Map<string, Uint8Array>();
  const critical = new Set<string>();
  const extWrap = rest.find((t) => t.tag === 0xa3);
  if (extWrap) {
    const wrapped = children(der, extWrap);
    if (wrapped.length !== 1) throw bad('the extensions are one sequence');
    const list = children(der, expectTag(wrapped[0], 0x30, 'the extensions'));
    for (const e of list) {
      const parts = children(der, expectTag(e, 0x30, 'an extension'));
      if (parts.length < 2 || parts.length > 3) throw bad('an extension has an id, a criticality and a value');
      const id = oid(der, expectTag(parts[0], 0x06, 'an extension id'));
      if (parts.length === 3) {
        const flag = expectTag(parts[1], 0x01, 'an extension criticality');
        // DER: TRUE is 0xff; FALSE is left out (it is the default).
        if (flag.end - flag.contentStart !== 1 || der[flag.contentStart] !== 0xff) throw bad('an extension criticality not in DER form');
        critical.add(id);
      }
      const value = expectTag(parts[parts.length - 1], 0x04, 'an extension value');
      if (extensions.has(id)) throw bad(`extension ${id} appears twice`);
      extensions.set(id, der.subarray(value.contentStart, value.end));
    }
  }
  // A certificate whose critical extension is not understood must not be trusted (RFC 5280 4.2),
  // name constraints included: they are not applied here, so a constrained CA is refused.
  for (const id of critical) if (!UNDERSTOOD.has(id)) throw new CertificateError('CERTIFICATE_UNSUPPORTED', `critical extension ${id} is not supported`);
  let isCA = false;
  let pathLength: number | undefined;
  const bc = extensions.get(BASIC_CONSTRAINTS);
  if (bc) {
    const items = children(bc, whole(bc, 0x30, 'basic constraints'));
    let k = 0;
    if (items[k]?.tag === 0x01) {
      const c = items[k++]!;
      if (c.end - c.contentStart !== 1 || bc[c.contentStart] !== 0xff) throw bad('basic constraints cA not in DER form');
      isCA = true;
    }
    if (items[k]?.tag === 0x02) {
      const n = items[k++]!;
      const v = bc.subarray(n.contentStart, n.end);
      if (v.length !== 1 || v[0]! > 0x7f) throw bad('an unsupported path length');
      pathLength = v[0];
    }
    if (k !== items.length) throw bad('unexpected elements in basic constraints');
  }
  let canSignCertificates = true;
  let canSign = true;
  const ku = extensions.get(KEY_USAGE);
  if (ku) {
    const t = whole(ku, 0x03, 'key usage');
    const bytes = ku.subarray(t.contentStart + 1, t.end);
    if (t.end - t.contentStart < 2 || ku[t.contentStart]! > 7) throw bad('key usage not in DER form');
    canSign = (bytes[0]! & 0x80) !== 0; // digitalSignature
    canSignCertificates = (bytes[0]! & 0x04) !== 0; // keyCertSign
  }
  let codeSigning: boolean | undefined;
  const eku = extensions.get(EXT_KEY_USAGE);
  if (eku) codeSigning = children(eku, whole(eku, 0x30, 'extended key usage')).some((u) => oid(eku, u) === CODE_SIGNING);
  const subjectAlternativeNames: string[] = [];
  const san = extensions.get(SUBJECT_ALT_NAME);
  if (san) {
    for (const n of children(san, whole(san, 0x30, 'subject alternative names'))) {
      if (n.tag === 0x81 || n.tag === 0x86) subjectAlternativeNames.push(text(san.subarray(n.contentStart, n.end)));
    }
  }
  let oidcIssuer: string | undefined;
  const v2 = extensions.get(FULCIO_ISSUER_V2);
  if (v2) {
    const t = whole(v2, 0x0c, "Fulcio's OIDC issuer");
    oidcIssuer = text(v2.subarray(t.contentStart, t.end));
  } else {
    const v1 = extensions.get(FULCIO_ISSUER_V1);
    if (v1) oidcIssuer = text(v1);
  }
  return {
    der,
    tbs: der.subarray(tbsT!.start, tbsT!.end),
    signatureAlgorithm,
    signature: der.subarray(sig.contentStart + 1, sig.end),
    issuer: der.subarray(issuerT.start, issuerT.end),
    subject: der.subarray(subjectT.start, subjectT.end),
    notBefore: time(der, validity[0]!),
    notAfter: time(der, validity[1]!),
    spki: der.subarray(spkiT.start, spkiT.end),
    curve,
    point: der.subarray(key.contentStart + 1, key.end),
    isCA,
    pathLength,
    canSignCertificates,
    canSign,
    codeSigning,
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
 * carries, unsigned, so any may be a decoy) is a signing certificate (not a CA; digitalSignature
 * and code signing when it says what it is for) that leads through CA certificates to a
 * certificate of a trusted authority, every signature verifying and every certificate valid at
 * `at` (ms, the verified signing time), and the authority trusted then. Names chain byte for
 * byte; every certificate with the right name is tried; path lengths are honoured (counting
 * every CA below, which is stricter than RFC 5280 for self-issued ones).
 */
export function verifyChain(chain: readonly Uint8Array[], authorities: readonly TrustedAuthority[], at: number): VerifiedChain {
  if (!Number.isFinite(at)) throw new CertificateError('CERTIFICATE_NOT_VALID_AT', 'no signing time to check the certificates at');
  if (chain.length === 0 || chain.length > 8) throw bad('a bundle carries 1 to 8 certificates');
  const given = chain.map(parseCertificate);
  const leaf = given[0]!;
  if (leaf.isCA) throw new CertificateError('CERTIFICATE_UNTRUSTED', 'the signing certificate is a certificate authority, not a signer');
  if (!leaf.canSign || leaf.codeSigning === false) throw new CertificateError('CERTIFICATE_UNTRUSTED', 'the signing certificate is not for signing code (key usage or extended key usage)');
  let reason = new CertificateError('CERTIFICATE_UNTRUSTED', 'the certificate does not chain to a certificate authority of the trusted roots');
  const worse = (e: CertificateError) => {
    // Say the most telling reason found: an invalid time or signature over "no path".
    if (reason.code === 'CERTIFICATE_UNTRUSTED' || e.code === 'CERTIFICATE_NOT_VALID_AT') reason = e;
  };
  const validAt = (c: Certificate) => at >= c.notBefore && at <= c.notAfter;
  // Each signature is checked once, however many paths reach it: decoy certificates sharing one
  // key and name could otherwise make the search verify signatures for every ordering of them.
  // And however the chain is built, the search makes at most MAX_SIGNATURE_CHECKS of them.
  const memo = new Map<Certificate, Map<Certificate, boolean>>();
  let checks = 0;
  const checked = (child: Certificate, parent: Certificate): boolean => {
    let row = memo.get(child);
    if (!row) memo.set(child, (row = new Map()));
    let ok = row.get(parent);
    if (ok === undefined) {
      if (++checks > MAX_SIGNATURE_CHECKS) throw new SearchExhausted();
      row.set(parent, (ok = signedBy(child, parent)));
    }
    return ok;
  };
  if (!validAt(leaf)) throw new CertificateError('CERTIFICATE_NOT_VALID_AT', `the signing certificate is not valid at ${new Date(at).toISOString()}`);
  for (const authority of authorities) {
    if (!(at >= authority.start) || (authority.end !== undefined && !(at < authority.end))) continue;
    const anchors = authority.certificates.map(parseCertificate);
    const pool = [...given.slice(1), ...anchors];
    // Depth-first over every issuer candidate, never through a certificate twice.
    const search = (path: Certificate[]): Certificate[] | undefined => {
      const current = path[path.length - 1]!;
      if (path.length > 1 && anchors.some((a) => bytesEqual(a.der, current.der))) return path;
      if (path.length > 9) return undefined;
      for (const parent of pool) {
        if (!bytesEqual(parent.subject, current.issuer) || path.some((c) => bytesEqual(c.der, parent.der))) continue;
        if (!validAt(parent)) {
          worse(new CertificateError('CERTIFICATE_NOT_VALID_AT', `a certificate in the chain is not valid at ${new Date(at).toISOString()}`));
          continue;
        }
        if (!parent.isCA || !parent.canSignCertificates) {
          worse(new CertificateError('CERTIFICATE_UNTRUSTED', 'a certificate in the chain is signed by one that is not a certificate authority'));
          continue;
        }
        if (parent.pathLength !== undefined && path.length - 1 > parent.pathLength) {
          worse(new CertificateError('CERTIFICATE_UNTRUSTED', 'the chain is longer than a certificate authority allows'));
          continue;
        }
        let ok = false;
        try {
          ok = checked(current, parent);
        } catch (e) {
          if (!(e instanceof CertificateError)) throw e;
          worse(e);
          continue;
        }
        if (!ok) {
          worse(new CertificateError('CERTIFICATE_SIGNATURE_INVALID', 'a certificate in the chain is not signed by its issuer'));
          continue;
        }
        const found = search([...path, parent]);
        if (found) return found;
      }
      return undefined;
    };
    let path: Certificate[] | undefined;
    try {
      path = search([leaf]);
    } catch (e) {
      if (e instanceof SearchExhausted) throw new CertificateError('CERTIFICATE_UNTRUSTED', `finding a path through the chain takes more than ${MAX_SIGNATURE_CHECKS} signature checks; it is refused`);
      throw e;
    }
    if (path) return { leaf, path };
  }
  throw reason;
}

/** The most signature checks one chain search may make (a bundle carries at most 8 certificates). */
export const MAX_SIGNATURE_CHECKS = 256;
class SearchExhausted extends Error {}

/** An RFC 3339 time with a zone (Z or an offset), in ms; undefined when it is not one. */
export function rfc3339(v: unknown): number | undefined {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(v)) return undefined;
  const ms = Date.parse(v.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isFinite(ms) ? ms : undefined;
}

/** The certificate authorities of a Sigstore trusted root (JSON), with their validity windows. */
export function authoritiesOf(trustedRoot: unknown): TrustedAuthority[] {
  const list = (trustedRoot as { certificateAuthorities?: unknown } | null)?.certificateAuthorities;
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw bad('the trusted root\'s certificate authorities are not a list');
  return list.map((ca: { certChain?: { certificates?: unknown }; validFor?: { start?: unknown; end?: unknown } } | null) => {
    const certs = ca?.certChain?.certificates;
    if (!Array.isArray(certs) || certs.length === 0) throw bad('a trusted certificate authority has no certificates');
    const certificates = certs.map((c: { rawBytes?: unknown } | null) => {
      if (typeof c?.rawBytes !== 'string') throw bad('a trusted root certificate is not base64');
      try {
        return fromBase64(c.rawBytes);
      } catch {
        throw bad('a trusted root certificate is not base64');
      }
    });
    const start = rfc3339(ca?.validFor?.start);
    if (start === undefined) throw bad('a trusted certificate authority has no readable start of validity');
    if (ca?.validFor?.end === undefined) return { certificates, start };
    const end = rfc3339(ca.validFor.end);
    // An end that cannot be read must not mean "trusted for ever".
    if (end === undefined) throw bad('a trusted certificate authority has an unreadable end of validity');
    return { certificates, start, end };
  });
}
