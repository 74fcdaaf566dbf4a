/**
 * Property: for random tree sizes, every inclusion proof and consistency proof the LevelDB-backed
 * ledger produces verifies against roots computed independently from the leaves.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leafHash, rootFromLeafHashes, verifyConsistency, verifyInclusion } from '../../src/log/index.js';
import { entry, levelLedger } from '../helpers.js';

describe('proofs from the LevelDB store', () => {
  it('verify against independently computed roots for random sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 6 }),
        fc.integer(),
        async (size, chunks, seed) => {
          const t = await levelLedger({ sequencer: { maxBatch: 97, maxDelayMs: 1 } });
          try {
            const leaves = Array.from({ length: size }, (_, i) => leafHash(entry(i, `s${seed}`)));
            // Append in random-size waves so batches and tiles split at varied places.
            let next = 0;
            for (let c = 0; next < size; c++) {
              const n = Math.min(chunks[c % chunks.length]!, size - next);
              await Promise.all(Array.from({ length: n }, (_, i) => t.ledger.append({ data: entry(next + i, `s${seed}`) })));
              next += n;
            }
            expect(t.ledger.size).toBe(size);
            const rng = fc.sample(fc.integer({ min: 1, max: size }), { numRuns: 6, seed });
            const sizes = [...new Set([size, 1, Math.min(size, 256), Math.min(size, 257), ...rng])].sort((a, b) => a - b);
            const roots = new Map(sizes.map((s) => [s, rootFromLeafHashes(leaves.slice(0, s))]));
            for (const s of sizes) {
              // Every index for the full size; a sample for the smaller ones keeps the run short.
              const indexes = s === size ? leaves.map((_, i) => i) : fc.sample(fc.integer({ min: 0, max: s - 1 }), { numRuns: 20, seed: seed + s });
              for (const i of indexes) {
                const p = await t.ledger.inclusionProof(i, s);
                expect(Buffer.from(p.root)).toEqual(Buffer.from(roots.get(s)!));
                verifyInclusion(i, s, leaves[i]!, p.hashes, roots.get(s)!);
              }
              for (const s2 of sizes) {
                if (s2 < s) continue;
                const c = await t.ledger.consistencyProof(s, s2);
                verifyConsistency(s, s2, c.hashes, roots.get(s)!, roots.get(s2)!);
              }
            }
          } finally {
            await t.cleanup();
          }
        },
      ),
      { numRuns: 12 },
    );
  }, 240_000);
});
