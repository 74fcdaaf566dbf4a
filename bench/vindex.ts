/**
 * The verifiable index at 10^4, 10^5 and 10^6 entries, on LevelDB: how fast it is built in
 * batches as the ledger builds it, and, from a cold cache (every node read from the store), how
 * long a lookup with its proof takes and how large the proof is. Each entry is filed under two
 * keys, its part (unique) and its device (ten entries per device), so there are 1.1 keys per entry.
 */
import { performance } from 'node:perf_hooks';
import { EMPTY_TREE } from '../src/log/index.js';
import { LevelLogStore } from '../src/store/level.js';
import { EMPTY, lookupToJson, verifyList, type Lookup } from '../src/vindex/map.js';
import { PersistentIndex } from '../src/vindex/persistent.js';
import { tempDir } from '../test/helpers.js';

export interface IndexSizeResult {
  entries: number;
  keys: number;
  buildEntriesPerSec: number;
  coldLookupMs: number;
  warmLookupMs: number;
  proofSiblings: number;
  proofBytes: number;
}

const BATCH = 2000;

export async function benchIndex(size: number): Promise<IndexSizeResult> {
  const dir = await tempDir('pedigree-vindex-');
  const store = await LevelLogStore.open(dir.path);
  try {
    const index = new PersistentIndex(store, EMPTY);
    const t0 = performance.now();
    for (let start = 0; start < size; start += BATCH) {
      const additions = new Map<string, number[]>();
      for (let i = start; i < Math.min(size, start + BATCH); i++) {
        additions.set(`partSerial:bench:P:${i}`, [i]);
        const dev = `udi:(01)09506000134352(21)B${Math.floor(i / 10)}`;
        additions.set(dev, [...(additions.get(dev) ?? []), i]);
      }
      const prepared = await index.prepare(additions);
      const end = Math.min(size, start + BATCH);
      await store.commit({ fromSize: start, tree: { state: { ...EMPTY_TREE, size: end }, checkpoint: '' }, entries: [], tiles: new Map(), records: prepared.records });
      prepared.apply();
    }
    const buildMs = performance.now() - t0;
    const probes = Array.from({ length: 500 }, (_, n) => `udi:(01)09506000134352(21)B${Math.floor(((n * 7919) % size) / 10)}`);
    const cold = new PersistentIndex(store, index.root, 0);
    const t1 = performance.now();
    const lookups: Lookup[] = [];
    for (const k of probes) lookups.push(...(await cold.read(() => cold.lookup([k]))));
    const coldMs = (performance.now() - t1) / probes.length;
    const t2 = performance.now();
    for (const k of probes) await index.read(() => index.lookup([k]));
    const warmMs = (performance.now() - t2) / probes.length;
    for (const l of lookups.slice(0, 20)) verifyList(index.root, l.key, l.indexes, l.proof);
    const avg = (f: (l: (typeof lookups)[number]) => number) => lookups.reduce((s, l) => s + f(l), 0) / lookups.length;
    return {
      entries: size,
      keys: size + Math.ceil(size / 10),
      buildEntriesPerSec: Math.round((size / buildMs) * 1000),
      coldLookupMs: +coldMs.toFixed(3),
      warmLookupMs: +warmMs.toFixed(3),
      proofSiblings: +avg((l) => l.proof.siblings.length).toFixed(1),
      proofBytes: Math.round(avg((l) => JSON.stringify(lookupToJson(l)).length)),
    };
  } finally {
    await store.close();
    await dir.remove();
  }
}

// `node --import tsx bench/vindex.ts 1000000`: one size on its own (10^6 takes about half an hour here).
if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const sizes = process.argv.slice(2).map(Number);
  for (const n of sizes.length ? sizes : [10_000, 100_000]) console.log(JSON.stringify(await benchIndex(n)));
}
