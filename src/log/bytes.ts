/**
 * Bytes, hex, base64 and UTF-8 without Node's Buffer, so that the log core, the verifier and
 * the web page share one implementation. Decoders are strict: they refuse what they would not
 * produce, because their input is attacker-controlled.
 */
import { LogError } from './errors.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += HEX[x]!;
  return s;
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new LogError('INVALID_ARGUMENT', 'not hex');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Each base64 letter's value by character code; 255 for anything else. */
const B64_INDEX = new Uint8Array(128).fill(255);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

export function toBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + (i + 1 < b.length ? B64[(n >> 6) & 63]! : '=') + (i + 2 < b.length ? B64[n & 63]! : '=');
  }
  return s;
}

/** The value of the base64 letter at `i`; anything else is refused. */
function b64At(s: string, i: number): number {
  const c = s.charCodeAt(i);
  const v = c < 128 ? B64_INDEX[c]! : 255;
  if (v === 255) throw new LogError('INVALID_ARGUMENT', 'not base64');
  return v;
}

/** Standard base64 with padding; anything else (whitespace, URL-safe letters, bad padding) is refused. */
export function fromBase64(s: string): Uint8Array {
  if (s.length % 4 !== 0) throw new LogError('INVALID_ARGUMENT', 'not base64');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  const letters = s.length - pad;
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const n = (b64At(s, i) << 18) | (b64At(s, i + 1) << 12) | (i + 2 < letters ? b64At(s, i + 2) << 6 : 0) | (i + 3 < letters ? b64At(s, i + 3) : 0);
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  // Refuse non-canonical encodings: bits the padding leaves over must be zero.
  if ((pad === 1 && (b64At(s, s.length - 2) & 3) !== 0) || (pad === 2 && (b64At(s, s.length - 3) & 15) !== 0)) {
    throw new LogError('INVALID_ARGUMENT', 'not canonical base64');
  }
  return out;
}

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Strict UTF-8 decoding: invalid sequences are an error, not U+FFFD. */
export function fromUtf8(b: Uint8Array): string {
  try {
    return decoder.decode(b);
  } catch {
    throw new LogError('INVALID_ARGUMENT', 'not valid UTF-8');
  }
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time for equal lengths. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
