/**
 * A test certificate authority standing in for Fulcio (or an organisation CA): real X.509
 * certificates, DER-encoded here and signed with Node's ECDSA, so tests can make the chains a
 * real CA would issue (root → intermediate → short-lived leaf with a workflow identity) and the
 * ones it must never issue (a leaf signing a leaf, a path too long, no keyCertSign).
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
export const tlv = (tag: number, ...content: Buffer[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
export const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const int = (b: Buffer) => tlv(0x02, b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
export const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, b: Buffer) => tlv(0xa0 | n, b);

export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const n of rest) {
    const parts = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) parts.unshift(0x80 | (v & 0x7f));
    out.push(...parts);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(ms: number): Buffer {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  const body = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  return y >= 1950 && y < 2050 ? tlv(0x17, Buffer.from(`${p(y % 100)}${body}`)) : tlv(0x18, Buffer.from(`${y}${body}`));
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.10'), utf8('pedigree test')), seq(oid('2.5.4.3'), utf8(cn))));
const ext = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

export interface TestCert {
  readonly der: Buffer;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly name: string;
  readonly curve: 'P-256' | 'P-384';
}

export interface CertOptions {
  readonly cn: string;
  /** The issuer (undefined: self-signed). */
  readonly issuer?: TestCert;
  readonly curve?: 'P-256' | 'P-384';
  readonly notBefore: number;
  readonly notAfter: number;
  /** A certificate authority (basic constraints cA), with an optional path length. */
  readonly ca?: boolean;
  readonly pathLength?: number;
  /** Key usage: keyCertSign for CAs unless false; digitalSignature for leaves. */
  readonly keyCertSign?: boolean;
  /** URI or e-mail subject alternative names. */
  readonly uris?: readonly string[];
  readonly emails?: readonly string[];
  /** Fulcio's OIDC issuer extension (v2, UTF8String). */
  readonly oidcIssuer?: string;
  /** A leaf's extended key usages (default: code signing). */
  readonly eku?: readonly string[];
  /** A leaf's key usage byte (default 0x80, digitalSignature). */
  readonly keyUsage?: number;
  /** More extensions, as they are. */
  readonly extensions?: ReadonlyArray<{ readonly id: string; readonly critical: boolean; readonly value: Buffer }>;
  /** The certificate's key pair (default: a new one). */
  readonly keys?: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
}

export function makeCert(o: CertOptions): TestCert {
  const curve = o.curve ?? 'P-256';
  const { privateKey, publicKey } = o.keys ?? generateKeyPairSync('ec', { namedCurve: curve === 'P-256' ? 'prime256v1' : 'secp384r1' });
  const signer = o.issuer ?? { privateKey, name: o.cn, curve };
  const hash = signer.curve === 'P-384' ? 'sha384' : 'sha256';
  const sigAlg = seq(oid(hash === 'sha384' ? '1.2.840.10045.4.3.3' : '1.2.840.10045.4.3.2'));
  const exts: Buffer[] = [];
  if (o.ca) {
    exts.push(ext('2.5.29.19', true, seq(bool(true), ...(o.pathLength !== undefined ? [int(Buffer.from([o.pathLength]))] : []))));
    // keyCertSign (bit 5) and cRLSign (bit 6): 0x06 with one unused bit.
    exts.push(ext('2.5.29.15', true, o.keyCertSign === false ? bits(Buffer.from([0x80]), 7) : bits(Buffer.from([0x06]), 1)));
  } else {
    exts.push(ext('2.5.29.15', true, bits(Buffer.from([o.keyUsage ?? 0x80]), 0))); // digitalSignature
    exts.push(ext('2.5.29.37', false, seq(...(o.eku ?? ['1.3.6.1.5.5.7.3.3']).map(oid)))); // codeSigning
  }
  const sans = [...(o.emails ?? []).map((e) => tlv(0x81, Buffer.from(e))), ...(o.uris ?? []).map((u) => tlv(0x86, Buffer.from(u)))];
  if (sans.length > 0) exts.push(ext('2.5.29.17', true, seq(...sans)));
  if (o.oidcIssuer) exts.push(ext('1.3.6.1.4.1.57264.1.8', false, utf8(o.oidcIssuer)));
  for (const e of o.extensions ?? []) exts.push(ext(e.id, e.critical, e.value));
  const tbs = seq(
    explicit(0, int(Buffer.from([2]))),
    int(randomBytes(16)),
    sigAlg,
    name(signer.name),
    seq(time(o.notBefore), time(o.notAfter)),
    name(o.cn),
    publicKey.export({ format: 'der', type: 'spki' }),
    explicit(3, seq(...exts)),
  );
  const signature = sign(hash, tbs, signer.privateKey);
  return { der: seq(tbs, sigAlg, bits(signature)), privateKey, publicKey, name: o.cn, curve };
}

/** A Fulcio-like hierarchy: a P-384 root, a P-384 intermediate (path length 0), valid for years. */
export function testCA(now = Date.now()): { root: TestCert; intermediate: TestCert; trustedRoot: Record<string, unknown> } {
  const years = 365 * 24 * 3600 * 1000;
  const root = makeCert({ cn: 'test-sigstore', curve: 'P-384', ca: true, notBefore: now - years, notAfter: now + 10 * years });
  const intermediate = makeCert({ cn: 'test-sigstore-intermediate', issuer: root, curve: 'P-384', ca: true, pathLength: 0, notBefore: now - years, notAfter: now + 5 * years });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    ctlogs: [],
    timestampAuthorities: [],
    certificateAuthorities: [
      {
        subject: { organization: 'pedigree test', commonName: 'test-sigstore' },
        uri: 'https://fulcio.test.invalid',
        certChain: { certificates: [intermediate, root].map((c) => ({ rawBytes: c.der.toString('base64') })) },
        validFor: { start: new Date(now - years).toISOString() },
      },
    ],
  };
  return { root, intermediate, trustedRoot };
}

/** A short-lived leaf for a CI workflow identity, as Fulcio issues for GitHub Actions. */
export function workflowLeaf(issuer: TestCert, identity: string, oidcIssuer = 'https://token.actions.githubusercontent.com', now = Date.now()): TestCert {
  return makeCert({ cn: 'sigstore', issuer, notBefore: now - 60_000, notAfter: now + 10 * 60_000, uris: [identity], oidcIssuer });
}
