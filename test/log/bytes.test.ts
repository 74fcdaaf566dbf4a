import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../src/log/bytes.js';

/** What a strict decoder must accept: standard padded base64 that re-encodes to itself. */
function canonical(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s) && Buffer.from(s, 'base64').toString('base64') === s;
}

function decodes(s: string): boolean {
  try {
    fromBase64(s);
    return true;
  } catch {
    return false;
  }
}

describe('base64', () => {
  it('round-trips any bytes and agrees with Node', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const s = toBase64(b);
        expect(s).toBe(Buffer.from(b).toString('base64'));
        expect(Buffer.from(fromBase64(s)).equals(Buffer.from(b))).toBe(true);
      }),
    );
  });

  it('accepts exactly the canonical encodings (no stray bits, letters, spaces or padding)', () => {
    const letters = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n\u00e9'.split(''));
    fc.assert(
      fc.property(fc.array(letters, { maxLength: 16 }), (chars) => {
        const s = chars.join('');
        expect(decodes(s)).toBe(canonical(s));
      }),
      { numRuns: 5000 },
    );
    for (const s of ['QQ==', 'QR==', 'QUI=', 'QUJ=', 'Q===', '=QQ=', 'QQ=A', 'QUJD', 'QUJD\n']) expect(decodes(s), s).toBe(canonical(s));
  });
});
