/**
 * The index as the ledger stores it: for random sequences of batches, its root is the root of
 * the in-memory map holding the same lists, every lookup it serves verifies and lists exactly
 * what was filed, keys never used prove absent, and nothing is visible before `apply`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_TREE } from '../../src/log/index.js';
import { MemoryLogStore } from '../../src/store/memory.js';
import { LevelLogStore } from '../../src/store/level.js';
import type { LogStore } from '../../src/store/store.js';
import { tempDir } from '../helpers.js';
import { EMPTY, VerifiableMap, keyHash, lookupFromJson, lookupToJson, valueHash, verifyList } from '../../src/vindex/map.js';
import { PersistentIndex } from '../../src/vindex/persistent.js';

async function commit(store: LogStore, records: Parameters<LogStore['commit']>[0]['records'], size: number) {
  const fromSize = (await store.readTree())?.state.size ?? 0;
  await store.commit({ fromSize, tree: { state: { ...EMPTY_TREE, size }, checkpoint: '' }, entries: [], tiles: new Map(), records });
}

const batches = fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 });

/** The in-memory store, and real LevelDB (which hands out Node Buffers: their slice() is a view). */
const stores: Array<[string, () => Promise<{ store: LogStore; done: () => Promise<void> }>]> = [
  ['memory', async () => ({ store: new MemoryLogStore(), done: async () => undefined })],
  [
    'LevelDB',
    async () => {
      const dir = await tempDir();
      const store = await LevelLogStore.open(dir.path);
      return { store, done: async () => (await store.close(), await dir.remove()) };
    },
  ],
];

describe.each(stores)('the stored index (%s)', (_name, open) => {
  it('holds the same root and proves the same lists as the in-memory map, batch after batch', async () => {
    await fc.assert(
      fc.asyncProperty(batches, fc.integer({ min: 0, max: 3 }), async (plan, cache) => {
        const { store, done } = await open();
        try {
          // A small cache (or none) makes most reads go to the store.
          const index = new PersistentIndex(store, EMPTY, cache * 4);
          const lists = new Map<string, number[]>();
          let next = 0;
          for (const batch of plan) {
            const additions = new Map<string, number[]>();
            for (const [k, n] of batch) {
              for (let i = 0; i < n; i++) {
                const idx = next++;
                const key = `lot:s:p:${k}`;
                additions.set(key, [...(additions.get(key) ?? []), idx]);
              }
            }
            const before = index.root;
            const prepared = await index.prepare(additions);
            expect(index.root).toEqual(before);
            await commit(store, prepared.records, next);
            prepared.apply();
            for (const [k, v] of additions) lists.set(k, [...(lists.get(k) ?? []), ...v]);
            const map = new VerifiableMap();
            for (const [k, v] of lists) map.set(keyHash(k), valueHash(v));
            expect(index.root).toEqual(map.root);
          }
          const keys = [...lists.keys(), 'lot:never:used:1', 'udi:nothing'];
          const got = await index.read(() => index.lookup(keys));
          for (const l of got) {
            expect(l.indexes).toEqual(lists.get(l.key) ?? []);
            const again = lookupFromJson(JSON.parse(JSON.stringify(lookupToJson(l))));
            verifyList(index.root, l.key, again.indexes, again.proof);
            // One index more or less, or another key's proof, does not verify.
            expect(() => verifyList(index.root, l.key, [...l.indexes, 10_000], again.proof)).toThrow();
          }
          // A reopened index (no cache, same store) serves the same proofs.
          const reopened = new PersistentIndex(store, index.root, 0);
          const fresh = await reopened.read(() => reopened.lookup(keys));
          expect(fresh.map(lookupToJson)).toEqual(got.map(lookupToJson));
        } finally {
          await done();
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('the stored index, readers and writers', () => {
  it('lets readers finish before a batch becomes visible, and makes new readers wait for it', async () => {
    const store = new MemoryLogStore();
    const index = new PersistentIndex(store, EMPTY);
    const order: string[] = [];
    let releaseReader!: () => void;
    const reader = index.read(async () => {
      order.push('read start');
      await new Promise<void>((r) => (releaseReader = r));
      order.push('read end');
    });
    await Promise.resolve();
    const prepared = await index.prepare(new Map([['udi:x', [0]]]));
    const writer = index.exclusive(async () => {
      order.push('write');
      await commit(store, prepared.records, 1);
      prepared.apply();
    });
    const late = index.read(async () => {
      order.push('late read');
      return index.lookup(['udi:x']);
    });
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['read start']);
    releaseReader();
    const [, , seen] = await Promise.all([reader, writer, late]);
    expect(order).toEqual(['read start', 'read end', 'write', 'late read']);
    expect(seen[0]!.indexes).toEqual([0]);
  });
});
