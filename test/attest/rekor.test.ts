import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { json } from '@sigstore/core';
import { entryTimestampPayload } from '../../src/verify/canonical.js';
import { toHex } from '../../src/log/index.js';

describe('the signed entry timestamp payload', () => {
  it('is byte for byte the RFC 8785 canonical JSON a general canonicaliser makes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.nat(), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (body, time, index, logId) => {
        const general = json.canonicalize({ body: Buffer.from(body).toString('base64'), integratedTime: time, logIndex: index, logID: toHex(logId) });
        expect(Buffer.from(entryTimestampPayload(body, time, index, logId)).toString('utf8')).toBe(general);
      }),
    );
  });

  it('refuses numbers a JSON reader could not read back exactly', () => {
    expect(() => entryTimestampPayload(randomBytes(10), 2 ** 53, 0, randomBytes(32))).toThrow(RangeError);
    expect(() => entryTimestampPayload(randomBytes(10), 1, 1.5, randomBytes(32))).toThrow(RangeError);
  });
});
