/**
 * Malformed input of any kind gets a typed refusal and writes nothing: random mutations of a
 * valid signed bundle (bytes of its JSON text, and values of its fields) never crash ingestion,
 * never leak an untyped error, and never change the tree unless the bundle is still valid.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttestError } from '../../src/attest/errors.js';
import { signStatement } from '../../src/attest/sign.js';
import { startNode, type TestNode } from '../helpers.js';
import { componentStatement, party, register } from './fixtures.js';

let node: TestNode;
let valid: Record<string, any>;
/** The attestation the valid bundle records: the only one a mutated bundle may record. */
let validId: string;

beforeAll(async () => {
  node = await startNode();
  const supplier = party('fuzz-supplier');
  await register(node.url, node.adminKey, supplier, ['supplier']);
  valid = (await signStatement(componentStatement('fuzz-supplier', 'P', ['S1']), supplier.privateKey)) as Record<string, any>;
  validId = (await node.attestations.submit(structuredClone(valid))).record.id;
});
afterAll(() => node.cleanup());

/**
 * 'accepted' only when the input is the valid bundle's attestation again, answered as the
 * entry already logged and writing nothing; otherwise a typed refusal that writes nothing.
 */
async function outcome(input: unknown): Promise<'accepted' | 'refused'> {
  const before = node.ledger.size;
  try {
    const r = await node.attestations.submit(input);
    expect(r.record.id).toBe(validId);
    expect(r.duplicate).toBe(true);
    expect(node.ledger.size).toBe(before);
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(AttestError);
    expect(node.ledger.size).toBe(before);
    return 'refused';
  }
}

describe('ingestion under random malformed input', () => {
  it('refuses byte-mutated bundle text with a typed error', async () => {
    const text = JSON.stringify(valid);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(text.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), async (flips) => {
        const b = Buffer.from(text);
        for (const [at, x] of flips) b[at]! ^= x;
        // Bytes nothing signs (the key ID, spacing) may change and still be accepted, but only
        // as the same attestation, writing nothing (outcome checks that).
        expect(['accepted', 'refused']).toContain(await outcome(b.toString('latin1')));
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('refuses bundles whose fields are replaced by arbitrary JSON values', async () => {
    const paths = [
      ['mediaType'],
      ['dsseEnvelope'],
      ['dsseEnvelope', 'payload'],
      ['dsseEnvelope', 'payloadType'],
      ['dsseEnvelope', 'signatures'],
      ['dsseEnvelope', 'signatures', 0, 'sig'],
      ['dsseEnvelope', 'signatures', 0, 'keyid'],
      ['verificationMaterial'],
      ['verificationMaterial', 'publicKey'],
      ['verificationMaterial', 'publicKey', 'hint'],
      ['verificationMaterial', 'tlogEntries'],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.jsonValue(), async (path, value) => {
        const b = structuredClone(valid);
        let o: any = b;
        for (const k of path.slice(0, -1)) o = o[k];
        o[path[path.length - 1]!] = value;
        // Some fields (the DSSE keyid, tlogEntries) do not affect validity; the rest must refuse.
        const r = await outcome(b);
        if (r === 'accepted') expect(['keyid', 'tlogEntries']).toContain(path[path.length - 1]);
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('refuses statements with arbitrary payloads signed by a registered key', async () => {
    const supplier = party('fuzz-signer');
    await register(node.url, node.adminKey, supplier, ['supplier']);
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (payload) => {
        // Nothing random is an in-toto statement of a known type about a subject.
        expect(await outcome(await signStatement(payload, supplier.privateKey))).toBe('refused');
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});
