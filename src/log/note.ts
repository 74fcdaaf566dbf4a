/**
 * C2SP signed-note: a UTF-8 text ending in a newline, a blank line, then signature lines
 * "— <name> <base64(key ID || signature)>\n". Ed25519 keys only (signature type 0x01).
 */
import { bytesEqual, concat, fromBase64, toBase64, toHex, utf8 } from './bytes.js';
import { LogError } from './errors.js';
import { sha256 } from './hash.js';
import { verifyEd25519 } from './signatures.js';

const EM_DASH = '\u2014';
const ED25519_TYPE = 0x01;
/** Verifiers may refuse notes with more signatures than this (signed-note allows the cap). */
export const MAX_SIGNATURES = 100;
export const MAX_NOTE_BYTES = 1 << 20;

export interface NoteSigner {
  readonly name: string;
  readonly keyId: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly signature: Uint8Array;
}

export interface Note {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

function checkName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name) || /[\u0000-\u001f\u007f]/u.test(name)) {
    throw new LogError('INVALID_ARGUMENT', 'key name must be non-empty with no spaces or "+"');
  }
}

/** Key ID = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key). */
export function ed25519KeyId(name: string, rawPublicKey: Uint8Array): Uint8Array {
  return ed25519KeyHash(name, rawPublicKey).subarray(0, 4);
}

/** Full SHA-256(name || 0x0A || 0x01 || public key); its first 4 bytes are the key ID. */
export function ed25519KeyHash(name: string, rawPublicKey: Uint8Array): Uint8Array {
  return sha256(utf8(`${name}\n`), Uint8Array.of(ED25519_TYPE), rawPublicKey);
}

/** A signer over any Ed25519 signing function (the host's key store decides how). */
export function ed25519Signer(name: string, rawPublicKey: Uint8Array, sign: (message: Uint8Array) => Uint8Array): NoteSigner {
  checkName(name);
  return { name, keyId: ed25519KeyId(name, rawPublicKey), sign };
}

/** A verifier for a raw 32-byte Ed25519 public key (RFC 8032, strict). */
export function ed25519Verifier(name: string, rawPublicKey: Uint8Array): NoteVerifier {
  checkName(name);
  if (rawPublicKey.length !== 32) throw new LogError('INVALID_ARGUMENT', 'an Ed25519 public key is 32 bytes');
  const keyId = ed25519KeyId(name, rawPublicKey);
  return {
    name,
    keyId,
    verify: (m, s) => verifyEd25519(rawPublicKey, s, m),
  };
}

/** The verifier key string "<name>+<hex key ID>+<base64(0x01 || public key)>". */
export function verifierKeyString(name: string, rawPublicKey: Uint8Array): string {
  return `${name}+${toHex(ed25519KeyId(name, rawPublicKey))}+${toBase64(concat(Uint8Array.of(ED25519_TYPE), rawPublicKey))}`;
}

export function parseVerifierKey(vkey: string): NoteVerifier {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey.trim());
  if (!m) throw new LogError('INVALID_ARGUMENT', 'verifier key must be <name>+<hex8>+<base64>');
  const [, name, hex, b64] = m as unknown as [string, string, string, string];
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(b64);
  } catch {
    throw new LogError('INVALID_ARGUMENT', 'verifier key must be <name>+<hex8>+<base64>');
  }
  if (bytes.length === 33 && bytes[0] === 0x04) throw new LogError('INVALID_ARGUMENT', "this is a witness's cosignature key (type 0x04), not a log's signing key");
  if (bytes.length !== 33 || bytes[0] !== ED25519_TYPE) throw new LogError('INVALID_ARGUMENT', 'only Ed25519 verifier keys are supported');
  const v = ed25519Verifier(name, bytes.subarray(1));
  if (toHex(v.keyId) !== hex) throw new LogError('INVALID_ARGUMENT', 'verifier key ID does not match its key');
  return v;
}

function checkText(text: string): void {
  if (text.length === 0 || !text.endsWith('\n')) throw new LogError('NOTE_MALFORMED', 'note text must end with a newline');
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/u.test(text)) throw new LogError('NOTE_MALFORMED', 'note text has control characters');
}

export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text);
  const message = utf8(text);
  const lines = signers.map((s) => {
    const sig = toBase64(concat(s.keyId, s.sign(message)));
    return `${EM_DASH} ${s.name} ${sig}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

export function parseNote(note: string): Note {
  if (note.length > MAX_NOTE_BYTES || utf8(note).length > MAX_NOTE_BYTES) throw new LogError('NOTE_MALFORMED', 'note is too large');
  if (note.includes('\uFFFD')) throw new LogError('NOTE_MALFORMED', 'note is not valid UTF-8');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new LogError('NOTE_MALFORMED', 'note has no signature block');
  const text = note.slice(0, split + 1);
  checkText(text);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw new LogError('NOTE_MALFORMED', 'signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new LogError('NOTE_MALFORMED', `note has more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    const m = /^\u2014 ([^\s+]+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    if (!m) throw new LogError('NOTE_MALFORMED', 'malformed signature line');
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(m[2]!);
    } catch {
      throw new LogError('NOTE_MALFORMED', 'malformed signature line');
    }
    if (bytes.length < 5) throw new LogError('NOTE_MALFORMED', 'signature is too short');
    return { name: m[1]!, keyId: bytes.slice(0, 4), signature: bytes.slice(4) };
  });
  return { text, signatures };
}

/**
 * Verifies a note against known keys. Signatures are matched by name and key ID; lines for
 * unknown keys (witness cosignatures, say) are ignored, but a known key whose signature fails
 * is an error. At least one known key must have signed.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): Note & { verifiedBy: string[] } {
  const parsed = parseNote(note);
  const message = utf8(parsed.text);
  const verifiedBy: string[] = [];
  for (const sig of parsed.signatures) {
    const v = verifiers.find((k) => k.name === sig.name && bytesEqual(k.keyId, sig.keyId));
    if (!v) continue;
    if (!v.verify(message, sig.signature)) throw new LogError('NOTE_UNVERIFIED', `invalid signature by ${sig.name}`);
    if (!verifiedBy.includes(v.name)) verifiedBy.push(v.name);
  }
  if (verifiedBy.length === 0) throw new LogError('NOTE_UNVERIFIED', 'note is not signed by any known key');
  return { ...parsed, verifiedBy };
}
