/**
 * The log a verifier trusts, read from a Sigstore trusted root (GET /trusted_root.json, pinned
 * by the caller): its origin and its keys. A log whose key was rotated is listed once per key,
 * each with its own log ID and validity (`validFor`); the current key (the one without an end,
 * else the one that ended last) signs checkpoints and evidence packages, and each entry's
 * signed entry timestamp is checked with the key its log ID names, valid at its integration
 * time (`logKeyFor`). Pure.
 */
import { bytesEqual, ed25519FromSpki, ed25519KeyHash, ed25519Verifier, fromBase64, type NoteVerifier } from '../log/index.js';
import { EvidenceError } from './errors.js';

/** One key of the log, with the time it was valid for (seconds since the epoch, inclusive). */
export interface TrustedLogKey {
  /** Raw 32-byte Ed25519 key. */
  readonly publicKey: Uint8Array;
  /** SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ key): the Sigstore log ID; its first 4 bytes are the checkpoint key ID. */
  readonly logId: Uint8Array;
  readonly verifier: NoteVerifier;
  /** Absent: valid from the beginning. */
  readonly validFrom?: number;
  /** Absent: still valid. */
  readonly validUntil?: number;
}

export interface TrustedLog extends TrustedLogKey {
  readonly origin: string;
  /** Every key the trusted root lists for this log, the current one (the top-level fields) among them. */
  readonly keys: readonly TrustedLogKey[];
}

interface TlogJson {
  baseUrl?: unknown;
  publicKey?: { rawBytes?: unknown; keyDetails?: unknown; validFor?: { start?: unknown; end?: unknown } };
  logId?: { keyId?: unknown };
}

/** Seconds since the epoch of an RFC 3339 time in a trusted root; undefined when absent. */
function seconds(v: unknown, what: string, origin: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const t = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(t)) throw new EvidenceError('TRUSTED_ROOT_INVALID', `the trusted root's key validity ${what} for ${origin} is not a time`);
  return Math.floor(t / 1000);
}

/** The trusted root's log whose origin is `origin`, with all its keys; UNTRUSTED_LOG when it names none. */
export function trustedLog(trustedRoot: unknown, origin: string): TrustedLog {
  const tlogs = (trustedRoot as { tlogs?: unknown } | null)?.tlogs;
  if (!Array.isArray(tlogs)) throw new EvidenceError('TRUSTED_ROOT_INVALID', 'the trusted root lists no transparency logs');
  const keys: TrustedLogKey[] = [];
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
    if (keys.some((k) => bytesEqual(k.logId, logId))) throw new EvidenceError('TRUSTED_ROOT_INVALID', `the trusted root lists a key for ${origin} twice`);
    const validFrom = seconds(t.publicKey.validFor?.start, 'start', origin);
    const validUntil = seconds(t.publicKey.validFor?.end, 'end', origin);
    keys.push({ publicKey: raw, logId, verifier: ed25519Verifier(origin, raw), ...(validFrom !== undefined && { validFrom }), ...(validUntil !== undefined && { validUntil }) });
  }
  if (keys.length === 0) throw new EvidenceError('UNTRUSTED_LOG', `the trusted root does not name the log the evidence comes from (${JSON.stringify(origin.slice(0, 60))})`);
  // The current key: one still valid (two are a root no verifier can read one way), else the last to end.
  const open = keys.filter((k) => k.validUntil === undefined);
  if (open.length > 1) throw new EvidenceError('TRUSTED_ROOT_INVALID', `the trusted root lists ${open.length} current keys for ${origin}; a log has one`);
  const current = open[0] ?? [...keys].sort((a, b) => b.validUntil! - a.validUntil!)[0]!;
  return { origin, ...current, keys };
}

/**
 * The log's key an entry's signed entry timestamp must verify with: the one its log ID names,
 * and only when that key was valid at the entry's integration time (a retired key, or a stolen
 * one, cannot vouch for an entry dated after it was retired). Throws a plain reason.
 */
export function logKeyFor(log: TrustedLog, logId: Uint8Array, integratedTime: number): TrustedLogKey {
  const key = log.keys.find((k) => bytesEqual(k.logId, logId));
  if (!key) throw new Error('the log entry is from another log');
  // A key that took over from another is not valid before it did. (The first key's start, the
  // ledger's creation, is not enforced: ledgers run on another clock in tests log before it.)
  const successor = key.validFrom !== undefined && log.keys.some((k) => k !== key && (k.validFrom === undefined || k.validFrom < key.validFrom!));
  if ((successor && integratedTime < key.validFrom!) || (key.validUntil !== undefined && integratedTime > key.validUntil)) {
    throw new Error(`the log entry names a log key that was not valid at its integration time (${new Date(integratedTime * 1000).toISOString()})`);
  }
  return key;
}

/** Whether a log ID is one of the log's keys. */
export function isLogId(log: TrustedLog, logId: Uint8Array): boolean {
  return log.keys.some((k) => bytesEqual(k.logId, logId));
}
