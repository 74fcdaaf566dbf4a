/**
 * The log a verifier trusts, read from a Sigstore trusted root (GET /trusted_root.json, pinned
 * by the caller): its origin, its raw Ed25519 key and its log ID. Pure.
 */
import { bytesEqual, ed25519FromSpki, ed25519KeyHash, ed25519Verifier, fromBase64, type NoteVerifier } from '../log/index.js';
import { EvidenceError } from './errors.js';

export interface TrustedLog {
  readonly origin: string;
  /** Raw 32-byte Ed25519 key. */
  readonly publicKey: Uint8Array;
  /** SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ key): the Sigstore log ID; its first 4 bytes are the checkpoint key ID. */
  readonly logId: Uint8Array;
  readonly verifier: NoteVerifier;
}

interface TlogJson {
  baseUrl?: unknown;
  publicKey?: { rawBytes?: unknown; keyDetails?: unknown };
  logId?: { keyId?: unknown };
}

/** The trusted root's log whose origin is `origin`; UNTRUSTED_LOG when it names none. */
export function trustedLog(trustedRoot: unknown, origin: string): TrustedLog {
  const tlogs = (trustedRoot as { tlogs?: unknown } | null)?.tlogs;
  if (!Array.isArray(tlogs)) throw new EvidenceError('TRUSTED_ROOT_INVALID', 'the trusted root lists no transparency logs');
  for (const t of tlogs as TlogJson[]) {
    if (typeof t?.baseUrl !== 'string' || t.baseUrl.replace(/^https?:\/\//, '').replace(/\/+$/, '') !== origin) continue;
    if (t.publicKey?.keyDetails !== 'PKIX_ED25519' || typeof t.publicKey.rawBytes !== 'string') {
      throw new EvidenceError('TRUSTED_ROOT_INVALID', `the trusted root's key for ${origin} is not an Ed25519 key`);
    }
    let raw: Uint8Array | undefined;
    try {
      raw = ed25519FromSpki(fromBase64(t.publicKey.rawBytes));
    } catch {
      raw = undefined;
    }
    if (!raw) throw new EvidenceError('TRUSTED_ROOT_INVALID', `the trusted root's key for ${origin} is unreadable`);
    const logId = ed25519KeyHash(origin, raw);
    if (typeof t.logId?.keyId === 'string') {
      let stated: Uint8Array;
      try {
        stated = fromBase64(t.logId.keyId);
      } catch {
        throw new EvidenceError('TRUSTED_ROOT_INVALID', `the trusted root's log ID for ${origin} is not base64`);
      }
      if (!bytesEqual(stated, logId)) throw new EvidenceError('TRUSTED_ROOT_INVALID', `the trusted root's log ID for ${origin} does not match its key`);
    }
    return { origin, publicKey: raw, logId, verifier: ed25519Verifier(origin, raw) };
  }
  throw new EvidenceError('UNTRUSTED_LOG', `the trusted root does not name the log the evidence comes from (${JSON.stringify(origin.slice(0, 60))})`);
}
