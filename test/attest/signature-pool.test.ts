import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { dsse } from '@sigstore/core';
import { SignaturePool, type SignatureJob } from '../../src/attest/signature-pool.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = publicKey.export({ format: 'der', type: 'spki' });
const keyId = createHash('sha256').update(spki).digest('hex');

function job(i: number, forge = false): SignatureJob {
  const pae = dsse.preAuthEncoding('application/vnd.in-toto+json', Buffer.from(`{"n":${i}}`));
  return { pae, signature: sign('sha256', pae, forge ? other.privateKey : privateKey), keyId, spki };
}

const pools: SignaturePool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});
function pool(threads: number): SignaturePool {
  const p = new SignaturePool(threads);
  pools.push(p);
  return p;
}

describe('the signature pool', () => {
  for (const threads of [0, 1, 2]) {
    it(`with ${threads} worker(s), accepts genuine signatures and refuses forged, altered or unreadable ones, each answer its own`, async () => {
      const p = pool(threads);
      const jobs = Array.from({ length: 300 }, (_, i) => job(i, i % 3 === 1));
      // Altered payload: the signature was over something else.
      const altered = { ...job(1000), pae: dsse.preAuthEncoding('application/vnd.in-toto+json', Buffer.from('{"n":1001}')) };
      const badKey = { ...job(1002), keyId: 'not-a-key', spki: Buffer.from('not a key') };
      const badSig = { ...job(1003), signature: Buffer.from('short') };
      const answers = await Promise.all([...jobs, altered, badKey, badSig].map((j) => p.check(j)));
      expect(answers.slice(0, 300)).toEqual(jobs.map((_, i) => i % 3 !== 1));
      expect(answers.slice(300)).toEqual([false, false, false]);
    });
  }

  it('answers every check when a worker dies with checks in flight (they are made on the main thread)', async () => {
    const p = pool(2);
    await p.check(job(0)); // starts a worker
    const jobs = Array.from({ length: 200 }, (_, i) => job(i, i % 2 === 0));
    const pending = Promise.all(jobs.map((j) => p.check(j)));
    // Kill the workers while the burst is in flight.
    const slots = (p as unknown as { slots: Array<{ worker: { terminate: () => Promise<number> } }> }).slots;
    await new Promise((r) => setImmediate(r));
    expect((p as unknown as { waiting: Map<number, unknown> }).waiting.size).toBeGreaterThan(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
    expect(await pending).toEqual(jobs.map((_, i) => i % 2 !== 0));
  });

  it('after close, checks go on on the main thread with the same answers', async () => {
    const p = pool(2);
    expect(await p.check(job(1))).toBe(true);
    // A check asked for in the same turn as close, and checks after it: no worker is started again.
    const racing = p.check(job(4));
    await p.close();
    expect(await Promise.all([racing, p.check(job(2)), p.check(job(3, true))])).toEqual([true, true, false]);
    expect((p as unknown as { slots: unknown[] }).slots).toHaveLength(0);
  });
});
