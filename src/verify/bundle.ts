/**
 * One completed bundle, checked against a checkpoint the caller already verified: its log
 * entry is this log's (log ID, kind), the logged Rekor dsse body commits to exactly this
 * envelope (payload hash, signature, signer key), the inclusion proof leads from that body to
 * the checkpoint's root, the log signed the entry timestamp, and the DSSE signature verifies
 * with the signer's key. Pure and synchronous; the same code runs in the CLI and the page.
 */
import { parseStatement, type Statement } from '../attest/statement.js';
import {
  bytesEqual,
  concat,
  fromBase64,
  fromUtf8,
  leafHash,
  rootFromInclusionProof,
  sha256,
  toBase64,
  toHex,
  utf8,
  verifyEd25519,
  verifyP256,
} from '../log/index.js';
import { derToPem } from '../trust/registry.js';
import { canonicalJson, entryTimestampPayload } from './canonical.js';
import { bundleCertificates, certificatePem } from './certificate.js';
import { logKeyFor, type TrustedLog } from './trust.js';

export interface VerifiedEntry {
  readonly logIndex: number;
  readonly integratedTime: number;
  /** The signer's key ID (the bundle's key hint). */
  readonly keyId: string;
  readonly statement: Statement;
  /** SHA-256 (hex) of the statement bytes. */
  readonly payloadDigest: string;
}

/** Where a bundle claims to be and who it claims signed it, before anything is verified. */
export interface BundleClaim {
  readonly logIndex: number;
  /** The key hint of a key-signed bundle. */
  readonly keyId?: string;
  /** The certificates of a certificate-signed bundle, the signing one first. */
  readonly certificates?: Uint8Array[];
  readonly predicateType: string;
}

/** Who a bundle is verified against: a registered key (SPKI DER), or the certificate it carries. */
export type LoggedSigner = Uint8Array | { readonly certificate: Uint8Array; readonly spki: Uint8Array };

interface BundleJson {
  dsseEnvelope?: { payload?: unknown; payloadType?: unknown; signatures?: Array<{ sig?: unknown }> };
  verificationMaterial?: {
    publicKey?: { hint?: unknown };
    certificate?: unknown;
    x509CertificateChain?: unknown;
    tlogEntries?: Array<{
      logIndex?: unknown;
      logId?: { keyId?: unknown };
      kindVersion?: { kind?: unknown; version?: unknown };
      integratedTime?: unknown;
      inclusionPromise?: { signedEntryTimestamp?: unknown };
      inclusionProof?: { logIndex?: unknown; treeSize?: unknown; rootHash?: unknown; hashes?: unknown; checkpoint?: { envelope?: unknown } };
      canonicalizedBody?: unknown;
    }>;
  };
}

class Bad extends Error {}
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw new Bad(`${what} is missing`);
  return v;
};
const b64 = (v: unknown, what: string): Uint8Array => {
  try {
    return fromBase64(str(v, what));
  } catch (e) {
    if (e instanceof Bad) throw e;
    throw new Bad(`${what} is not base64`);
  }
};
const int = (v: unknown, what: string): number => {
  const s = str(v, what);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(s) || !Number.isSafeInteger(Number(s))) throw new Bad(`${what} is not a non-negative integer`);
  return Number(s);
};

const IN_TOTO = 'application/vnd.in-toto+json';
const MAX_PROOF_HASHES = 64;

/**
 * The bundle's entry in the log whose log IDs (one per key it has had) are `logIds` (a
 * certificate-signed bundle may also carry its own log's).
 */
function entryIn(b: BundleJson | null, logIds: Uint8Array | readonly Uint8Array[] | undefined) {
  const all = b?.verificationMaterial?.tlogEntries;
  if (!Array.isArray(all)) return undefined;
  if (logIds === undefined) return all[0];
  const ids = logIds instanceof Uint8Array ? [logIds] : logIds;
  const ours = all.filter((t) => {
    try {
      const id = b64(t?.logId?.keyId, 'the log ID');
      return ids.some((l) => bytesEqual(id, l));
    } catch {
      return false;
    }
  });
  return ours.length === 1 ? ours[0] : undefined;
}

/** What a bundle says about itself (for ordering and signer lookup); throws a reason when it is unreadable. */
export function bundleClaim(bundle: unknown, logIds?: Uint8Array | readonly Uint8Array[]): BundleClaim {
  const b = bundle as BundleJson | null;
  const t = entryIn(b, logIds);
  if (!t && logIds !== undefined) throw new Bad('the bundle has no single entry in this log');
  const logIndex = int(t?.logIndex, 'the log index');
  let certificates: Uint8Array[] | undefined;
  try {
    certificates = bundleCertificates(b);
  } catch (e) {
    throw new Bad((e as Error).message);
  }
  const keyId = certificates ? undefined : str(b?.verificationMaterial?.publicKey?.hint, 'the key hint');
  let predicateType = '';
  try {
    predicateType = String((JSON.parse(fromUtf8(b64(b?.dsseEnvelope?.payload, 'the payload'))) as { predicateType?: unknown }).predicateType ?? '');
  } catch {
    predicateType = '';
  }
  return { logIndex, ...(keyId !== undefined && { keyId }), ...(certificates && { certificates }), predicateType };
}

/** Throws Error with a plain reason when anything does not verify. */
/** How a Rekor dsse body names a signer key (base64 of its PEM), made once per key object. */
const verifierText = new WeakMap<Uint8Array, string>();
function loggedVerifier(spki: Uint8Array): string {
  let text = verifierText.get(spki);
  if (text === undefined) {
    text = toBase64(utf8(derToPem(spki)));
    verifierText.set(spki, text);
  }
  return text;
}

export function verifyLoggedBundle(bundle: unknown, log: TrustedLog, checkpoint: { note: string; size: number; root: Uint8Array }, signer: LoggedSigner): VerifiedEntry {
  try {
    const b = bundle as BundleJson | null;
    const env = b?.dsseEnvelope;
    const tlogs = b?.verificationMaterial?.tlogEntries;
    const byKey = signer instanceof Uint8Array;
    const signerSpki = byKey ? signer : signer.spki;
    // A key-signed bundle is this ledger's alone; a certificate-signed one may keep its own log's entries.
    if (!env || !Array.isArray(tlogs) || (byKey ? tlogs.length !== 1 : tlogs.length < 1)) throw new Bad('the bundle needs a DSSE envelope and exactly one entry in this log');
    const t = byKey ? tlogs[0]! : entryIn(b, log.keys.map((k) => k.logId));
    if (!t) throw new Bad('the bundle needs exactly one entry in this log');
    if (str(env.payloadType, 'the payload type') !== IN_TOTO) throw new Bad('the payload is not an in-toto statement');
    if (!Array.isArray(env.signatures) || env.signatures.length !== 1) throw new Bad('the envelope must carry exactly one signature');
    const payload = b64(env.payload, 'the payload');
    const sigText = str(env.signatures[0]?.sig, 'the signature');
    const sig = b64(sigText, 'the signature');
    const keyId = byKey ? str(b?.verificationMaterial?.publicKey?.hint, 'the key hint') : '';
    if (byKey && keyId !== toHex(sha256(signerSpki))) throw new Bad("the key hint is not the signer's key");

    // The entry is in this log, at this index, in this checkpoint.
    const logIndex = int(t.logIndex, 'the log index');
    const integratedTime = int(t.integratedTime, 'the integration time');
    // The log key that vouches for it: the one its log ID names, valid when it was integrated.
    const logId = b64(t.logId?.keyId, 'the log ID');
    let key: ReturnType<typeof logKeyFor>;
    try {
      key = logKeyFor(log, logId, integratedTime);
    } catch (e) {
      throw new Bad((e as Error).message);
    }
    if (t.kindVersion?.kind !== 'dsse' || t.kindVersion?.version !== '0.0.1') throw new Bad('the log entry is not a dsse 0.0.1 entry');
    const proof = t.inclusionProof;
    if (proof?.checkpoint?.envelope !== checkpoint.note) throw new Bad('it is proved against another checkpoint');
    if (int(proof.treeSize, 'the proof tree size') !== checkpoint.size || int(proof.logIndex, 'the proof index') !== logIndex) throw new Bad('its proof is for another tree or index');
    if (!bytesEqual(b64(proof.rootHash, 'the proof root'), checkpoint.root)) throw new Bad('its proof names another root');
    if (!Array.isArray(proof.hashes) || proof.hashes.length > MAX_PROOF_HASHES) throw new Bad('its proof hashes are malformed');
    const body = b64(t.canonicalizedBody, 'the logged body');
    const computed = rootFromInclusionProof(logIndex, checkpoint.size, leafHash(body), proof.hashes.map((h) => b64(h, 'a proof hash')));
    if (!bytesEqual(computed, checkpoint.root)) throw new Bad('its inclusion proof does not lead to the checkpoint root');

    // The logged body commits to this envelope and this signer (Rekor dsse v0.0.1).
    const rekor = JSON.parse(fromUtf8(body)) as { apiVersion?: unknown; kind?: unknown; spec?: { payloadHash?: { algorithm?: unknown; value?: unknown }; signatures?: Array<{ signature?: unknown; verifier?: unknown }> } };
    if (canonicalJson(rekor) !== fromUtf8(body)) throw new Bad('the logged body is not canonical JSON');
    if (rekor.apiVersion !== '0.0.1' || rekor.kind !== 'dsse') throw new Bad('the logged body is not a dsse 0.0.1 body');
    const payloadDigest = toHex(sha256(payload));
    if (rekor.spec?.payloadHash?.algorithm !== 'sha256' || rekor.spec.payloadHash.value !== payloadDigest) throw new Bad('the logged body is for another statement');
    const logged = rekor.spec.signatures;
    if (!Array.isArray(logged) || logged.length !== 1 || logged[0]?.signature !== sigText) throw new Bad('the logged body is for another signature');
    if (logged[0].verifier !== (byKey ? loggedVerifier(signerSpki) : toBase64(utf8(certificatePem(signer.certificate))))) throw new Bad('the logged body names another signer');

    // The log promised it (signed entry timestamp over body, time, index and log ID).
    const set = b64(t.inclusionPromise?.signedEntryTimestamp, 'the signed entry timestamp');
    if (!verifyEd25519(key.publicKey, set, entryTimestampPayload(body, integratedTime, logIndex, key.logId))) throw new Bad('the signed entry timestamp does not verify with the log key');

    // The signer signed it (DSSE PAE).
    const type = utf8(IN_TOTO);
    const pae = concat(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${payload.length} `), payload);
    if (!verifyP256(signerSpki, sig, pae)) throw new Bad(byKey ? "the DSSE signature does not verify with the signer's registered key" : "the DSSE signature does not verify with the signing certificate's key");

    let statement: Statement;
    try {
      statement = parseStatement(payload);
    } catch (e) {
      throw new Bad(`the statement is invalid: ${(e as Error).message}`);
    }
    return { logIndex, integratedTime, keyId, statement, payloadDigest };
  } catch (e) {
    if (e instanceof Bad) throw new Error(e.message);
    throw new Error(`it is malformed: ${(e as Error).message}`);
  }
}
