/**
 * C2SP signed-note: a UTF-8 text ending in a newline, a blank line, then signature lines
 * "— <name> <base64(key ID || signature)>\n". Ed25519 keys only (signature type 0x01).
 */
import { createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { LogError } from './errors.js';
import { sha256 } from './hash.js';

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

/** Raw 32-byte Ed25519 public key from a KeyObject. */
export function ed25519Raw(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new LogError('INVALID_ARGUMENT', 'not an Ed25519 key');
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
}

/** Key ID = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key). */
export function ed25519KeyId(name: string, rawPublicKey: Uint8Array): Uint8Array {
  return sha256(Buffer.from(`${name}\n`, 'utf8'), Uint8Array.of(ED25519_TYPE), rawPublicKey).subarray(0, 4);
}

/** Full SHA-256(name || 0x0A || 0x01 || public key); its first 4 bytes are the key ID. */
export function ed25519KeyHash(name: string, rawPublicKey: Uint8Array): Uint8Array {
  return sha256(Buffer.from(`${name}\n`, 'utf8'), Uint8Array.of(ED25519_TYPE), rawPublicKey);
}

export function ed25519NoteSigner(name: string, privateKey: KeyObject): NoteSigner {
  checkName(name);
  const keyId = ed25519KeyId(name, ed25519Raw(privateKey));
  return { name, keyId, sign: (m) => new Uint8Array(cryptoSign(null, m, privateKey)) };
}

export function ed25519NoteVerifier(name: string, publicKey: KeyObject): NoteVerifier {
  checkName(name);
  const raw = ed25519Raw(publicKey);
  const keyId = ed25519KeyId(name, raw);
  return {
    name,
    keyId,
    verify: (m, s) => s.length === 64 && cryptoVerify(null, m, publicKey, s),
  };
}

/** The verifier key string "<name>+<hex key ID>+<base64(0x01 || public key)>". */
export function verifierKeyString(name: string, publicKey: KeyObject): string {
  const raw = ed25519Raw(publicKey);
  const hex = Buffer.from(ed25519KeyId(name, raw)).toString('hex');
  return `${name}+${hex}+${Buffer.from([ED25519_TYPE, ...raw]).toString('base64')}`;
}

export function parseVerifierKey(vkey: string): NoteVerifier {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey.trim());
  if (!m) throw new LogError('INVALID_ARGUMENT', 'verifier key must be <name>+<hex8>+<base64>');
  const [, name, hex, b64] = m as unknown as [string, string, string, string];
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length !== 33 || bytes[0] !== ED25519_TYPE) throw new LogError('INVALID_ARGUMENT', 'only Ed25519 verifier keys are supported');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: bytes.subarray(1).toString('base64url') }, format: 'jwk' });
  const v = ed25519NoteVerifier(name, key);
  if (Buffer.from(v.keyId).toString('hex') !== hex) throw new LogError('INVALID_ARGUMENT', 'verifier key ID does not match its key');
  return v;
}

function checkText(text: string): void {
  if (text.length === 0 || !text.endsWith('\n')) throw new LogError('NOTE_MALFORMED', 'note text must end with a newline');
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/u.test(text)) throw new LogError('NOTE_MALFORMED', 'note text has control characters');
}

export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text);
  const message = Buffer.from(text, 'utf8');
  const lines = signers.map((s) => {
    const sig = Buffer.concat([s.keyId, s.sign(message)]).toString('base64');
    return `${EM_DASH} ${s.name} ${sig}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

export function parseNote(note: string): Note {
  if (Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES) throw new LogError('NOTE_MALFORMED', 'note is too large');
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
    const bytes = Buffer.from(m[2]!, 'base64');
    if (bytes.length < 5) throw new LogError('NOTE_MALFORMED', 'signature is too short');
    return { name: m[1]!, keyId: new Uint8Array(bytes.subarray(0, 4)), signature: new Uint8Array(bytes.subarray(4)) };
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
  const message = Buffer.from(parsed.text, 'utf8');
  const verifiedBy: string[] = [];
  for (const sig of parsed.signatures) {
    const v = verifiers.find((k) => k.name === sig.name && Buffer.compare(Buffer.from(k.keyId), Buffer.from(sig.keyId)) === 0);
    if (!v) continue;
    if (!v.verify(message, sig.signature)) throw new LogError('NOTE_UNVERIFIED', `invalid signature by ${sig.name}`);
    if (!verifiedBy.includes(v.name)) verifiedBy.push(v.name);
  }
  if (verifiedBy.length === 0) throw new LogError('NOTE_UNVERIFIED', 'note is not signed by any known key');
  return { ...parsed, verifiedBy };
}
