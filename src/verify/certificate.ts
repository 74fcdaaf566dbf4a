/**
 * Certificate-signed entries in the shared verification core (the server before it logs one, the
 * CLI and the page when they verify evidence): the trust root a participant's identity is
 * registered under, the certificates a bundle carries, and the time the signing certificate
 * must have been valid at.
 *
 * That time is the ledger's integration time when the certificate was still valid then (an
 * organisation CA's certificate, or one submitted at once). A keyless certificate lives ten
 * minutes, so a bundle submitted later must show an earlier time itself: an entry in a Rekor v1
 * log of the same trust root, whose signed entry timestamp verifies with that log's key (valid at
 * that time) and whose logged body commits to this envelope: its payload, its signature and, for
 * a dsse entry, this certificate. RFC 3161 timestamps and Rekor v2 entries are checked by the
 * server with @sigstore/verify, but are not yet a time this core can verify. Pure, no Node API.
 */
import { bytesEqual, ed25519FromSpki, fromBase64, fromUtf8, p256Point, sha256, toBase64, toHex, verifyEd25519, verifyP256 } from '../log/index.js';
import { entryTimestampPayload } from './canonical.js';
import { CertificateError, authoritiesOf, parseCertificate, rfc3339, verifyChain, type Certificate, type TrustedAuthority, type VerifiedChain } from './x509.js';
import type { IdentityCheck } from '../trust/registry.js';

/** A transparency log of a trust root whose signed entry timestamps give a signing time. */
export interface RekorLog {
  readonly logId: Uint8Array;
  readonly key: { readonly kind: 'p256'; readonly spki: Uint8Array } | { readonly kind: 'ed25519'; readonly raw: Uint8Array };
  /** Milliseconds; the key signs for times in [start, end). */
  readonly start: number;
  readonly end?: number;
}

/** What the registry keeps of a registered trust root (a Sigstore trusted root's JSON). */
export interface TrustRootMaterial {
  readonly authorities: readonly TrustedAuthority[];
  readonly logs: readonly RekorLog[];
  /** The log IDs of every transparency log it names, whatever their keys. */
  readonly logIds: readonly Uint8Array[];
  /** How many certificate transparency logs it names (the stock check wants an SCT when there are any). */
  readonly ctlogs: number;
  /** How many RFC 3161 timestamp authorities it names. */
  readonly tsas: number;
}

export class TrustRootError extends Error {
  override readonly name = 'TrustRootError';
}

/** Reads a Sigstore trusted root; throws TrustRootError saying what is wrong. */
export function readTrustRoot(json: unknown): TrustRootMaterial {
  const r = json as { mediaType?: unknown; tlogs?: unknown; ctlogs?: unknown } | null;
  if (typeof r !== 'object' || r === null || typeof r.mediaType !== 'string' || !r.mediaType.startsWith('application/vnd.dev.sigstore.trustedroot+json')) {
    throw new TrustRootError('not a Sigstore trusted root (it has no trustedroot mediaType)');
  }
  let authorities: TrustedAuthority[];
  try {
    authorities = authoritiesOf(json);
    for (const a of authorities) for (const c of a.certificates) if (!parseCertificate(c).isCA) throw new CertificateError('CERTIFICATE_MALFORMED', 'a trusted authority certificate is not a CA certificate');
  } catch (e) {
    throw new TrustRootError(`its certificate authorities are unreadable: ${(e as Error).message}`);
  }
  if (authorities.length === 0) throw new TrustRootError('it names no certificate authority, so no certificate could chain to it');
  const logs: RekorLog[] = [];
  const logIds: Uint8Array[] = [];
  for (const [i, t] of (Array.isArray(r.tlogs) ? (r.tlogs as unknown[]) : []).entries()) {
    const tl = t as { publicKey?: { rawBytes?: unknown; keyDetails?: unknown; validFor?: { start?: unknown; end?: unknown } }; logId?: { keyId?: unknown } } | null;
    let spki: Uint8Array;
    let logId: Uint8Array;
    try {
      spki = fromBase64(String(tl?.publicKey?.rawBytes));
      logId = fromBase64(String(tl?.logId?.keyId));
    } catch {
      throw new TrustRootError(`transparency log ${i + 1}: its key or log ID is not base64`);
    }
    const start = rfc3339(tl?.publicKey?.validFor?.start);
    const end = tl?.publicKey?.validFor?.end === undefined ? undefined : rfc3339(tl.publicKey.validFor.end);
    if (start === undefined || (tl?.publicKey?.validFor?.end !== undefined && end === undefined)) throw new TrustRootError(`transparency log ${i + 1}: its key's validity is unreadable`);
    logIds.push(logId);
    const raw = tl?.publicKey?.keyDetails === 'PKIX_ED25519' ? ed25519FromSpki(spki) : undefined;
    if (raw) logs.push({ logId, key: { kind: 'ed25519', raw }, start, ...(end !== undefined && { end }) });
    else if (tl?.publicKey?.keyDetails === 'PKIX_ECDSA_P256_SHA_256' && p256Point(spki)) logs.push({ logId, key: { kind: 'p256', spki }, start, ...(end !== undefined && { end }) });
    // Logs with other keys give no time this core can check; the stock check still reads them.
  }
  const tsas = (json as { timestampAuthorities?: unknown }).timestampAuthorities;
  return { authorities, logs, logIds, ctlogs: Array.isArray(r.ctlogs) ? r.ctlogs.length : 0, tsas: Array.isArray(tsas) ? tsas.length : 0 };
}

/** The certificates a bundle (JSON) carries, the signing one first; undefined for a key-signed bundle. */
export function bundleCertificates(bundle: unknown): Uint8Array[] | undefined {
  const vm = (bundle as { verificationMaterial?: { certificate?: { rawBytes?: unknown }; x509CertificateChain?: { certificates?: unknown } } } | null)?.verificationMaterial;
  const read = (c: unknown) => {
    const raw = (c as { rawBytes?: unknown } | null)?.rawBytes;
    if (typeof raw !== 'string') throw new CertificateError('CERTIFICATE_MALFORMED', 'a certificate is not base64');
    return fromBase64(raw);
  };
  if (vm?.certificate !== undefined) return [read(vm.certificate)];
  if (vm?.x509CertificateChain !== undefined) {
    const list = vm.x509CertificateChain.certificates;
    if (!Array.isArray(list) || list.length === 0 || list.length > 8) throw new CertificateError('CERTIFICATE_MALFORMED', 'a bundle carries 1 to 8 certificates');
    return list.map(read);
  }
  return undefined;
}

/** A certificate as PEM, the way a Rekor body names a certificate signer. */
export function certificatePem(der: Uint8Array): string {
  return `-----BEGIN CERTIFICATE-----\n${toBase64(der).replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** The DER of the first certificate in PEM text, or undefined. */
function pemDer(text: string): Uint8Array | undefined {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(text);
  if (!m) return undefined;
  try {
    return fromBase64(m[1]!.replace(/\s+/g, ''));
  } catch {
    return undefined;
  }
}

interface RekorEntryJson {
  logIndex?: unknown;
  logId?: { keyId?: unknown };
  kindVersion?: { kind?: unknown; version?: unknown };
  integratedTime?: unknown;
  inclusionPromise?: { signedEntryTimestamp?: unknown };
  canonicalizedBody?: unknown;
}

/** The most log entries, and the most RFC 3161 timestamps, a certificate-signed bundle may bring. */
export const MAX_OWN_ENTRIES = 8;

const logIdOf = (entry: unknown): Uint8Array | undefined => {
  try {
    return fromBase64(String((entry as RekorEntryJson | null)?.logId?.keyId));
  } catch {
    return undefined;
  }
};

/**
 * The integration times (seconds) of a bundle's own Rekor v1 entries that verify against `root`:
 * from one of its logs, the signed entry timestamp valid with that log's key at that time, the
 * body (dsse 0.0.1 or intoto 0.0.2) committing to this payload and signature, and a dsse body
 * naming this certificate. Entries from other logs, and entries that do not verify, give no time.
 */
export function ownLogTimes(entries: unknown, root: TrustRootMaterial, envelope: { readonly payload: Uint8Array; readonly signature: Uint8Array }, leaf: Uint8Array): number[] {
  if (!Array.isArray(entries)) return [];
  const times: number[] = [];
  const digest = toHex(sha256(envelope.payload));
  // Only the root's own logs' entries count (the ledger's entry beside them is not one), so
  // ingestion and the offline verifiers read the same ones.
  const ofRoot = entries.flatMap((raw) => {
    const id = logIdOf(raw);
    const log = id && root.logs.find((l) => bytesEqual(l.logId, id));
    return log ? [{ raw, log, logId: id }] : [];
  });
  for (const { raw, log, logId } of ofRoot.slice(0, MAX_OWN_ENTRIES)) {
    try {
      const t = raw as RekorEntryJson;
      // Protobuf JSON leaves a zero out: an entry at index 0 has no logIndex once re-serialised.
      const timeText = String(t.integratedTime ?? '0');
      const indexText = String(t.logIndex ?? '0');
      const time = Number(timeText);
      const index = Number(indexText);
      if (!/^(0|[1-9][0-9]{0,15})$/.test(timeText) || !/^(0|[1-9][0-9]{0,15})$/.test(indexText) || !Number.isSafeInteger(time) || !Number.isSafeInteger(index)) continue;
      if (!(time * 1000 >= log.start) || (log.end !== undefined && !(time * 1000 < log.end))) continue;
      const body = fromBase64(String(t.canonicalizedBody));
      const set = fromBase64(String(t.inclusionPromise?.signedEntryTimestamp));
      const signed = entryTimestampPayload(body, time, index, logId);
      const ok = log.key.kind === 'p256' ? verifyP256(log.key.spki, set, signed) : verifyEd25519(log.key.raw, set, signed);
      if (!ok || !bodyCommits(fromUtf8(body), t.kindVersion, digest, envelope.signature, leaf)) continue;
      times.push(time);
    } catch {
      // unreadable: no time from it
    }
  }
  return times;
}

function bodyCommits(text: string, kv: RekorEntryJson['kindVersion'], payloadDigest: string, signature: Uint8Array, leaf: Uint8Array): boolean {
  const body = JSON.parse(text) as {
    apiVersion?: unknown;
    kind?: unknown;
    spec?: {
      payloadHash?: { algorithm?: unknown; value?: unknown };
      signatures?: Array<{ signature?: unknown; verifier?: unknown }>;
      content?: { payloadHash?: { algorithm?: unknown; value?: unknown }; envelope?: { signatures?: Array<{ sig?: unknown; publicKey?: unknown }> } };
    };
  };
  if (body.kind !== kv?.kind || body.apiVersion !== kv?.version) return false;
  const sig = toBase64(signature);
  if (body.kind === 'dsse' && body.apiVersion === '0.0.1') {
    const s = body.spec?.signatures;
    if (body.spec?.payloadHash?.algorithm !== 'sha256' || body.spec.payloadHash.value !== payloadDigest) return false;
    if (!Array.isArray(s) || s.length !== 1 || s[0]?.signature !== sig) return false;
    const named = pemDer(fromUtf8(fromBase64(String(s[0].verifier))));
    return named !== undefined && bytesEqual(named, leaf);
  }
  if (body.kind === 'intoto' && body.apiVersion === '0.0.2') {
    const c = body.spec?.content;
    const s = c?.envelope?.signatures;
    if (c?.payloadHash?.algorithm !== 'sha256' || c.payloadHash.value !== payloadDigest) return false;
    if (!Array.isArray(s) || s.length !== 1 || fromUtf8(fromBase64(String(s[0]?.sig))) !== sig) return false;
    const named = pemDer(fromUtf8(fromBase64(String(s[0]?.publicKey))));
    return named !== undefined && bytesEqual(named, leaf);
  }
  return false;
}

export interface CertificateSigner {
  readonly chain: VerifiedChain;
  /** The verified time (seconds) the certificate was valid at. */
  readonly at: number;
  /** Where that time came from. */
  readonly source: 'ledger' | 'log entry';
}

/**
 * The chain checked to the root at the ledger's integration time, or else at the earliest time
 * the bundle's own log entries verify (never after the integration time). Throws
 * CertificateError with the reason.
 */
export function verifyCertificateSigner(chain: readonly Uint8Array[], root: TrustRootMaterial, integratedTime: number, own: readonly number[]): CertificateSigner {
  let first: CertificateError | undefined;
  try {
    return { chain: verifyChain(chain, root.authorities, integratedTime * 1000), at: integratedTime, source: 'ledger' };
  } catch (e) {
    if (!(e instanceof CertificateError)) throw e;
    first = e;
  }
  const earlier = [...own].filter((t) => t <= integratedTime).sort((a, b) => a - b);
  for (const t of earlier) {
    try {
      return { chain: verifyChain(chain, root.authorities, t * 1000), at: t, source: 'log entry' };
    } catch (e) {
      if (!(e instanceof CertificateError)) throw e;
      if (e.code !== 'CERTIFICATE_NOT_VALID_AT') first = e;
    }
  }
  if (first.code === 'CERTIFICATE_NOT_VALID_AT') {
    const leaf = parseCertificate(chain[0]!);
    throw new CertificateError(
      'CERTIFICATE_NOT_VALID_AT',
      `the signing certificate is valid from ${new Date(leaf.notBefore).toISOString()} to ${new Date(leaf.notAfter).toISOString()}, ` +
        `not at ${new Date(integratedTime * 1000).toISOString()} when the ledger logged it, and the bundle has ${earlier.length === 0 ? 'no log entry of its trust root that verifies' : 'no verified log entry'} from within that validity`,
    );
  }
  throw first;
}

/** The SHA-256 (hex) of a certificate's public key as SPKI DER: what a signature pool caches keys by. */
export function spkiId(spki: Uint8Array): string {
  return toHex(sha256(spki));
}


export interface SelectedSigner {
  readonly identity: IdentityCheck;
  readonly signer: CertificateSigner;
}

/**
 * The one rule, for ingestion and every evidence verifier alike, by which a certificate-signed
 * entry's signer is found: of the identities the registry (as it stands for the entry) matches to
 * the certificate, in its order, the first whose trust root names every log the bundle's own
 * entries come from (and a timestamp authority when it brings timestamps), whose chain leads to
 * that root at a verified time (verifyCertificateSigner), and which was registered by then.
 * `own` are the bundle's log entries other than the ledger's. Throws the first reason none is.
 */
export function selectCertificateSigner(
  registry: { identitiesFor(cert: Certificate, at: number): IdentityCheck[] },
  chain: readonly Uint8Array[],
  leaf: Certificate,
  integratedTime: number,
  own: readonly unknown[],
  timestamps: number,
  envelope: { readonly payload: Uint8Array; readonly signature: Uint8Array },
): SelectedSigner {
  const candidates = registry.identitiesFor(leaf, integratedTime);
  if (candidates.length === 0) throw new CertificateError('CERTIFICATE_UNTRUSTED', 'no registered identity matches the certificate');
  if (own.length > MAX_OWN_ENTRIES || timestamps > MAX_OWN_ENTRIES) throw new CertificateError('CERTIFICATE_MALFORMED', `a bundle brings at most ${MAX_OWN_ENTRIES} log entries and ${MAX_OWN_ENTRIES} timestamps`);
  let reason: CertificateError | undefined;
  for (const c of candidates) {
    const m = c.root.material;
    const foreign = own.some((e) => {
      const id = logIdOf(e);
      return !id || !m.logIds.some((l) => bytesEqual(l, id));
    });
    if (foreign || (timestamps > 0 && m.tsas === 0)) {
      reason ??= new CertificateError('CERTIFICATE_EVIDENCE_UNTRUSTED', `the bundle brings log entries or timestamps that trust root ${c.root.name} does not name`);
      continue;
    }
    let signer: CertificateSigner;
    try {
      signer = verifyCertificateSigner(chain, m, integratedTime, ownLogTimes(own, m, envelope, chain[0]!));
    } catch (e) {
      if (!(e instanceof CertificateError)) throw e;
      if (!reason || reason.code === 'CERTIFICATE_EVIDENCE_UNTRUSTED') reason = new CertificateError(e.code, `${e.message} (trust root ${c.root.name})`);
      continue;
    }
    // An identity speaks for its participant only from its registration on.
    if (signer.at < c.identity.addedAt) {
      reason ??= new CertificateError('CERTIFICATE_NOT_VALID_AT', `the certificate was used at ${new Date(signer.at * 1000).toISOString()}, before its identity was registered (${new Date(c.identity.addedAt * 1000).toISOString()})`);
      continue;
    }
    return { identity: c, signer };
  }
  throw reason!;
}
