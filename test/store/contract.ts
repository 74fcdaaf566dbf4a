/**
 * The LogStore contract suite: every backend runs it (see store.ts for the MUSTs it checks).
 */
import { describe, expect, it } from 'vitest';
import { EMPTY_TREE, integrate, leafHash, signCheckpoint } from '../../src/log/index.js';
import type { IntegrationBatch, LogStore, StoredTree } from '../../src/store/store.js';
import { entry, logKeys } from '../helpers.js';

export interface StoreFixture {
  store: LogStore;
  /** Closes and reopens the same backing storage (absent for volatile stores). */
  reopen?: () => Promise<LogStore>;
  cleanup: () => Promise<void>;
}

const keys = logKeys();

async function batchOf(store: LogStore, from: StoredTree | undefined, count: number, start: number, fresh = false): Promise<IntegrationBatch> {
  const state = from?.state ?? EMPTY_TREE;
  const entries = Array.from({ length: count }, (_, i) => {
    const data = entry(start + i);
    return { index: state.size + i, data, leafHash: leafHash(data), integratedTime: 1_700_000_000 + i };
  });
  const out = await integrate(state, entries.map((e) => e.leafHash), (l, i) => (fresh ? Promise.resolve(undefined) : store.readTile(l, i)));
  const checkpoint = signCheckpoint({ origin: keys.signer.name, size: out.state.size, root: out.state.root, extensions: [] }, keys.signer);
  return {
    fromSize: state.size,
    tree: { state: out.state, checkpoint },
    entries,
    tiles: out.tiles,
    records: entries.map((e) => ({ space: 'by-data', key: Buffer.from(e.data).toString(), value: Uint8Array.of(e.index) })),
  };
}

export function logStoreContract(name: string, open: () => Promise<StoreFixture>): void {
  describe(`LogStore contract: ${name}`, () => {
    it('reads absent things as undefined', async () => {
      const f = await open();
      try {
        expect(await f.store.readTree()).toBeUndefined();
        expect(await f.store.readEntry(0)).toBeUndefined();
        expect(await f.store.readTile(0, 0)).toBeUndefined();
        expect(await f.store.findLeaves([leafHash(entry(0))]).then(([i]) => i)).toBeUndefined();
        expect(await f.store.readRecord('by-data', 'x')).toBeUndefined();
        expect(await f.store.readEntries(0, 10)).toEqual([]);
      } finally {
        await f.cleanup();
      }
    });

    it('applies a whole batch: entries, tiles, tree, records', async () => {
      const f = await open();
      try {
        const b = await batchOf(f.store, undefined, 300, 0);
        await f.store.commit(b);
        expect((await f.store.readTree())?.state.size).toBe(300);
        expect(Buffer.from((await f.store.readEntry(299))!.data).toString()).toBe('e-299');
        expect((await f.store.readEntry(299))!.integratedTime).toBe(1_700_000_299);
        expect(await f.store.findLeaves([leafHash(entry(17))]).then(([i]) => i)).toBe(17);
        expect((await f.store.readTile(0, 0))!.length).toBe(256 * 32);
        expect((await f.store.readTile(0, 1))!.length).toBe(44 * 32);
        expect((await f.store.readTile(1, 0))!.length).toBe(32);
        const range = await f.store.readEntries(250, 260);
        expect(range.map((e) => e.index)).toEqual([250, 251, 252, 253, 254, 255, 256, 257, 258, 259]);
        expect([...(await f.store.readRecord('by-data', 'e-5'))!]).toEqual([5]);
        expect((await f.store.readRecords('by-data', ['e-5', 'nope', 'e-6'])).map((v) => (v ? [...v] : v))).toEqual([[5], undefined, [6]]);
        expect(await f.store.readRecords('by-data', [])).toEqual([]);
      } finally {
        await f.cleanup();
      }
    });

    it('rejects a batch that does not start at the stored size and changes nothing', async () => {
      const f = await open();
      try {
        await f.store.commit(await batchOf(f.store, undefined, 3, 0));
        const stale = await batchOf(f.store, undefined, 2, 100, true);
        await expect(f.store.commit(stale)).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
        expect((await f.store.readTree())?.state.size).toBe(3);
        expect(await f.store.findLeaves([leafHash(entry(100))]).then(([i]) => i)).toBeUndefined();
      } finally {
        await f.cleanup();
      }
    });

    it('scans records in key order with bounds, limit and reverse', async () => {
      const f = await open();
      try {
        await f.store.commit(await batchOf(f.store, undefined, 12, 0));
        const keysOf = (rows: Array<[string, Uint8Array]>) => rows.map(([k]) => k);
        expect(keysOf(await f.store.scanRecords('by-data', { gte: 'e-1', lt: 'e-2' }))).toEqual(['e-1', 'e-10', 'e-11']);
        expect(keysOf(await f.store.scanRecords('by-data', { limit: 2 }))).toEqual(['e-0', 'e-1']);
        expect(keysOf(await f.store.scanRecords('by-data', { reverse: true, limit: 1 }))).toEqual(['e-9']);
        expect(await f.store.scanRecords('nothing-here', {})).toEqual([]);
      } finally {
        await f.cleanup();
      }
    });

    it('keeps extending the same partial tiles across batches', async () => {
      const f = await open();
      try {
        let tree: StoredTree | undefined;
        for (let i = 0; i < 5; i++) {
          const b = await batchOf(f.store, tree, 100, i * 100);
          await f.store.commit(b);
          tree = b.tree;
        }
        const t0 = (await f.store.readTile(0, 0))!;
        const leaves = Array.from({ length: 256 }, (_, i) => Buffer.from(leafHash(entry(i))));
        expect(Buffer.from(t0)).toEqual(Buffer.concat(leaves));
        expect((await f.store.readTile(0, 1))!.length).toBe(244 * 32);
      } finally {
        await f.cleanup();
      }
    });

    it('keeps what it committed across a reopen (durable backends)', async () => {
      const f = await open();
      if (!f.reopen) {
        await f.cleanup();
        return;
      }
      try {
        const b = await batchOf(f.store, undefined, 10, 0);
        await f.store.commit(b);
        const again = await f.reopen();
        f.store = again;
        expect((await again.readTree())?.checkpoint).toBe(b.tree.checkpoint);
        expect(await again.findLeaves([leafHash(entry(9))]).then(([i]) => i)).toBe(9);
        await again.commit(await batchOf(again, b.tree, 1, 10));
        expect((await again.readTree())?.state.size).toBe(11);
      } finally {
        await f.cleanup();
      }
    });
  });
}
