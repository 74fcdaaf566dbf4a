/**
 * C2SP tlog-cosignature, Ed25519 flavour (cosignature/v1, signed-note signature type 0x04).
 *
 * A witness signs "cosignature/v1\ntime <t>\n" followed by the checkpoint body (the note text,
 * final newline included, no signature lines). Its note signature line is
 *
 *     — <name> base64(key ID (4) || timestamp (uint64, big-endian) || Ed25519 signature (64))
 *
 * with key ID = SHA-256(name || "\n" || 0x04 || public key)[:4]. The signed message does not
 * commit to the witness's name, so one key must never serve two witness names.
 *
 * Pure: no Node APIs (the page and the verifier may use it).
 */
import { bytesEqual, concat, fromBase64, toBase64, toHex, utf8 } from './bytes.js';
import { parseCheckpoint } from './checkpoint.js';
import { LogError } from './errors.js';
import { sha256 } from './hash.js';
import { MAX_NOTE_BYTES, MAX_SIGNATURES } from './note.js';
import { verifyEd25519 } from './signatures.js';

/** Signed-note signature type of timestamped Ed25519 checkpoint cosignatures. */
export const COSIGNATURE_V1_TYPE = 0x04;
const EM_DASH = '\u2014';
const KEY_ID_BYTES = 4;
const TIMESTAMP_BYTES = 8;
const ED25519_SIGNATURE_BYTES = 64;
const COSIGNATURE_BYTES = KEY_ID_BYTES + TIMESTAMP_BYTES + ED25519_SIGNATURE_BYTES;

/** A witness's cosignature verifier key, parsed. */
export interface CosignatureVerifierKey {
  readonly name: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  readonly keyId: Uint8Array;
}

/** One cosignature that verified. */
export interface VerifiedCosignature {
  /** The witness's name (as in its verifier key). */
  readonly name: string;
  /** The cosignature's timestamp, POSIX seconds. */
  readonly time: number;
  /** The signature line as it appears in the note, with its final newline. */
  readonly line: string;
}

export interface VerifyCosignaturesOptions {
  /** Refuse cosignatures timestamped after this POSIX time (seconds), e.g. now plus some skew. */
  readonly maxTime?: number;
  /** Refuse cosignatures timestamped before this POSIX time (seconds). Default 0 (accept any). */
  readonly minTime?: number;
}

function checkName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name) || /[\u0000-\u001f\u007f]/u.test(name)) {
    throw new LogError('INVALID_ARGUMENT', 'a cosigner name must be non-empty with no spaces, control characters or "+"');
  }
}

function checkPublicKey(pub: Uint8Array): void {
  if (pub.length !== 32) throw new LogError('INVALID_ARGUMENT', 'an Ed25519 public key is 32 bytes');
}

/** Key ID = SHA-256(name || 0x0A || 0x04 || 32-byte public key)[:4]. */
export function cosignatureKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  checkName(name);
  checkPublicKey(publicKey);
  return sha256(utf8(`${name}\n`), Uint8Array.of(COSIGNATURE_V1_TYPE), publicKey).slice(0, KEY_ID_BYTES);
}

/** The witness's verifier key: "<name>+<hex key ID>+<base64(0x04 || public key)>". */
export function cosignatureVerifierKey(name: string, publicKey: Uint8Array): string {
  const keyId = cosignatureKeyId(name, publicKey);
  return `${name}+${toHex(keyId)}+${toBase64(concat(Uint8Array.of(COSIGNATURE_V1_TYPE), publicKey))}`;
}

/** Parses a witness verifier key of type 0x04; anything else (a log's 0x01 key, say) is refused. */
export function parseCosignatureVerifierKey(vkey: string): CosignatureVerifierKey {
  const bad = (why: string) => new LogError('INVALID_ARGUMENT', `cosignature verifier key: ${why}`);
  if (vkey.length > 1024) throw bad('too long');
  // The base64 part may itself contain "+", so split on the first two only.
  const text = vkey.trim();
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (first <= 0 || second < 0) throw bad('must be <name>+<hex8>+<base64>');
  const name = text.slice(0, first);
  const hex = text.slice(first + 1, second);
  const b64 = text.slice(second + 1);
  if (!/^[0-9a-f]{8}$/.test(hex)) throw bad('key ID must be 8 lowercase hex digits');
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(b64);
  } catch {
    throw bad('key is not base64');
  }
  if (bytes.length === 0 || bytes[0] !== COSIGNATURE_V1_TYPE) throw bad('not a cosignature/v1 (type 0x04) key');
  if (bytes.length !== 33) throw bad('an Ed25519 public key is 32 bytes');
  try {
    checkName(name);
  } catch {
    throw bad('bad name');
  }
  const publicKey = bytes.slice(1);
  const keyId = cosignatureKeyId(name, publicKey);
  if (toHex(keyId) !== hex) throw bad('key ID does not match its name and key');
  return { name, publicKey, keyId };
}

/** The exact bytes a witness signs: "cosignature/v1\ntime <t>\n" || checkpoint body. */
export function cosignatureMessage(checkpointBody: string, time: number): Uint8Array {
  return utf8(`cosignature/v1\ntime ${time}\n${checkpointBody}`);
}

function uint64be(n: number): Uint8Array {
  const out = new Uint8Array(TIMESTAMP_BYTES);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), false);
  return out;
}

/**
 * Cosigns a checkpoint body and returns its signature line ("— <name> <base64>\n"). `sign` is
 * the witness's Ed25519 signing function over the given message (the host decides where the
 * key lives); `time` is the POSIX timestamp in seconds and must not be zero.
 */
export function cosign(
  checkpointBody: string,
  name: string,
  publicKey: Uint8Array,
  sign: (message: Uint8Array) => Uint8Array,
  time: number,
): string {
  parseCheckpoint(checkpointBody); // a cosignature is a statement about a checkpoint
  if (!Number.isSafeInteger(time) || time <= 0) throw new LogError('INVALID_ARGUMENT', 'cosignature time must be a positive integer (POSIX seconds)');
  const keyId = cosignatureKeyId(name, publicKey);
  const signature = sign(cosignatureMessage(checkpointBody, time));
  if (signature.length !== ED25519_SIGNATURE_BYTES) throw new LogError('INVALID_ARGUMENT', 'an Ed25519 signature is 64 bytes');
  return `${EM_DASH} ${name} ${toBase64(concat(keyId, uint64be(time), signature))}\n`;
}

const SIGNATURE_LINE = /^\u2014 ([^\s+]{1,256}) ([A-Za-z0-9+/]{4,8192}={0,2})$/u;

/**
 * The witnesses (of those given) whose cosignature on the note's text verifies, once per name,
 * in the note's order. Other signature lines (the log's own, unknown witnesses, other types, lines
 * that are not signatures at all) are ignored; so is a cosignature that fails to verify. Never
 * throws: a note that cannot be read has no cosignatures. Work is bounded: notes larger than
 * MAX_NOTE_BYTES and signature lines past MAX_SIGNATURES are not looked at.
 */
export function verifyCosignatures(
  note: string,
  witnesses: readonly CosignatureVerifierKey[],
  opts: VerifyCosignaturesOptions = {},
): VerifiedCosignature[] {
  if (typeof note !== 'string' || note.length > MAX_NOTE_BYTES || witnesses.length === 0) return [];
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return [];
  const body = note.slice(0, split + 1);
  const lines = note.slice(split + 2).split('\n', MAX_SIGNATURES);
  const minTime = opts.minTime ?? 0;
  const maxTime = opts.maxTime ?? Number.MAX_SAFE_INTEGER;
  const out: VerifiedCosignature[] = [];
  // A cosignature does not sign the witness's name: one key listed under two names is one witness.
  const keysUsed: Uint8Array[] = [];
  for (const line of lines) {
    const m = SIGNATURE_LINE.exec(line);
    if (!m) continue;
    const name = m[1]!;
    const candidates = witnesses.filter((w) => w.name === name && !out.some((o) => o.name === w.name));
    if (candidates.length === 0) continue;
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(m[2]!);
    } catch {
      continue;
    }
    if (bytes.length !== COSIGNATURE_BYTES) continue;
    const keyId = bytes.subarray(0, KEY_ID_BYTES);
    const witness = candidates.find((w) => bytesEqual(w.keyId, keyId));
    if (!witness || keysUsed.some((k) => bytesEqual(k, witness.publicKey))) continue;
    const stamp = new DataView(bytes.buffer, bytes.byteOffset + KEY_ID_BYTES, TIMESTAMP_BYTES).getBigUint64(0, false);
    // The spec caps timestamps at 2^63 - 1; anything past 2^53 is no real time either.
    if (stamp > BigInt(Number.MAX_SAFE_INTEGER)) continue;
    const time = Number(stamp);
    if (time < minTime || time > maxTime) continue;
    const signature = bytes.subarray(KEY_ID_BYTES + TIMESTAMP_BYTES);
    let ok: boolean;
    try {
      ok = verifyEd25519(witness.publicKey, signature, cosignatureMessage(body, time));
    } catch {
      ok = false;
    }
    if (ok) {
      out.push({ name: witness.name, time, line: `${line}\n` });
      keysUsed.push(witness.publicKey);
    }
  }
  return out;
}
