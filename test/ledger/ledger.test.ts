import { describe, expect, it } from 'vitest';
import { BatchScope, Ledger, MAX_ENTRY_BYTES } from '../../src/ledger/ledger.js';
import { leafHash, openCheckpoint, rootFromLeafHashes, verifyConsistency, verifyInclusion } from '../../src/log/index.js';
import { MemoryLogStore } from '../../src/store/memory.js';
import { appendMany, entry, levelLedger, logKeys } from '../helpers.js';

describe('ledger appends', () => {
  it('assigns consecutive indexes and signs a checkpoint over the new root', async () => {
    const t = await levelLedger();
    try {
      const idx = await appendMany(t.ledger, 10);
      expect(idx).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const cp = openCheckpoint(t.ledger.checkpoint, t.verifier);
      expect(cp.size).toBe(10);
      const expected = rootFromLeafHashes(Array.from({ length: 10 }, (_, i) => leafHash(entry(i))));
      expect(Buffer.from(cp.root)).toEqual(Buffer.from(expected));
    } finally {
      await t.cleanup();
    }
  });

  it('resolves an identical entry to its existing index, within a batch and across batches', async () => {
    const t = await levelLedger();
    try {
      const [a, b] = await Promise.all([t.ledger.append({ data: entry(1) }), t.ledger.append({ data: entry(1) })]);
      expect(a!.index).toBe(0);
      expect(b).toMatchObject({ index: 0, duplicate: true });
      const again = await t.ledger.append({ data: entry(1) });
      expect(again).toMatchObject({ index: 0, duplicate: true });
      expect(t.ledger.size).toBe(1);
    } finally {
      await t.cleanup();
    }
  });

  it('rejects empty and oversized entries without writing', async () => {
    const t = await levelLedger();
    try {
      await expect(t.ledger.append({ data: new Uint8Array(0) })).rejects.toMatchObject({ code: 'ENTRY_EMPTY' });
      await expect(t.ledger.append({ data: new Uint8Array(MAX_ENTRY_BYTES + 1) })).rejects.toMatchObject({ code: 'ENTRY_TOO_LARGE' });
      expect((await t.ledger.append({ data: new Uint8Array(MAX_ENTRY_BYTES).fill(7) })).index).toBe(0);
      expect(t.ledger.size).toBe(1);
    } finally {
      await t.cleanup();
    }
  });

  it('groups concurrent appends into few atomic commits', async () => {
    const store = new MemoryLogStore();
    let commits = 0;
    store.faults.beforeCommit = () => {
      commits++;
    };
    const ledger = await Ledger.open({ store, signer: logKeys().signer, sequencer: { maxBatch: 100, maxDelayMs: 50 } });
    commits = 0;
    await appendMany(ledger, 1000);
    expect(ledger.size).toBe(1000);
    expect(commits).toBeLessThanOrEqual(11);
    expect(commits).toBeGreaterThanOrEqual(10);
    await ledger.close();
  });

  it('pushes back with LOG_BUSY instead of queueing without bound', async () => {
    const store = new MemoryLogStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ledger = await Ledger.open({ store, signer: logKeys().signer, sequencer: { maxBatch: 1, maxDelayMs: 0, maxPending: 5 } });
    let committing!: () => void;
    const inCommit = new Promise<void>((r) => (committing = r));
    store.faults.beforeCommit = () => {
      committing();
      return gate;
    };
    const first = ledger.append({ data: entry(0) });
    await inCommit; // the first batch is being written; the rest must wait
    const waiting = Array.from({ length: 5 }, (_, i) => ledger.append({ data: entry(i + 1) }));
    await expect(ledger.append({ data: entry(99) })).rejects.toMatchObject({ code: 'LOG_BUSY' });
    release();
    await first;
    await Promise.all(waiting);
    expect(ledger.size).toBe(6);
    await ledger.close();
  });

  it('rejects every append of a batch whose commit fails, keeps the old tree, and recovers', async () => {
    const store = new MemoryLogStore();
    const keys = logKeys();
    const ledger = await Ledger.open({ store, signer: keys.signer });
    await appendMany(ledger, 3);
    const before = ledger.checkpoint;
    store.faults.beforeCommit = () => {
      throw new Error('disk full');
    };
    const failed = await Promise.allSettled([ledger.append({ data: entry(10) }), ledger.append({ data: entry(11) })]);
    for (const r of failed) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'STORE_FAILED' } });
    expect(ledger.checkpoint).toBe(before);
    expect(await store.findLeaves([leafHash(entry(10))]).then(([i]) => i)).toBeUndefined();
    store.faults.beforeCommit = undefined;
    expect((await ledger.append({ data: entry(10) })).index).toBe(3);
    const p = await ledger.inclusionProof(3);
    verifyInclusion(3, 4, leafHash(entry(10)), p.hashes, openCheckpoint(ledger.checkpoint, keys.verifier).root);
    await ledger.close();
  });

  it('admits entries in log order inside the sequencer: a refusal drops only that entry, and its index goes to the next', async () => {
    const store = new MemoryLogStore();
    const ledger = await Ledger.open({ store, signer: logKeys().signer, sequencer: { maxBatch: 10, maxDelayMs: 5 } });
    const seen: number[] = [];
    const admit = (name: string, refuse = false) => (index: number, _time: number, scope: BatchScope) => {
      seen.push(index);
      // The first entry of a name wins; a later one in the same batch is refused.
      if (refuse || scope.has(name)) throw new Error(`refused ${name}`);
      scope.set(name, index);
      return [{ space: 'names', key: name, value: Buffer.from(String(index)) }];
    };
    const results = await Promise.allSettled([
      ledger.append({ data: entry(1), admit: admit('a') }),
      ledger.append({ data: entry(2), admit: admit('a') }),
      ledger.append({ data: entry(3), admit: admit('b', true) }),
      ledger.append({ data: entry(4), admit: admit('c') }),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value.index : (r.reason as Error).message))).toEqual([0, 'refused a', 'refused b', 1]);
    expect(seen).toEqual([0, 1, 1, 1]);
    expect(ledger.size).toBe(2);
    expect(await store.readRecord('names', 'a')).toEqual(Buffer.from('0'));
    expect(await store.readRecord('names', 'c')).toEqual(Buffer.from('1'));
    expect(await store.findLeaves([leafHash(entry(2)), leafHash(entry(3))])).toEqual([undefined, undefined]);
    await ledger.close();
  });

  it('reads what admission asks for once per batch, as committed before the batch', async () => {
    const store = new MemoryLogStore();
    const ledger = await Ledger.open({ store, signer: logKeys().signer });
    const count = (scope: BatchScope) => Number(Buffer.from(scope.record('count', 'k') ?? Buffer.from('0')).toString());
    const bump = (i: number) => ledger.append({
      data: entry(i),
      reads: [{ space: 'count', key: 'k' }],
      admit: (_index, _t, scope) => {
        const n = ((scope.get('k') as number | undefined) ?? count(scope)) + 1;
        scope.set('k', n);
        return [{ space: 'count', key: 'k', value: Buffer.from(String(n)) }];
      },
    });
    await bump(1);
    await Promise.all([bump(2), bump(3), bump(4)]);
    await bump(5);
    expect(Buffer.from((await store.readRecord('count', 'k'))!).toString()).toBe('5');
    await ledger.close();
  });

  it('dedups on an identity other than the leaf, in the log and within a batch', async () => {
    const store = new MemoryLogStore();
    const ledger = await Ledger.open({ store, signer: logKeys().signer });
    const first = await ledger.append({ data: entry(1), identity: 'same' });
    const [again, twin] = await Promise.all([ledger.append({ data: entry(2), identity: 'same' }), ledger.append({ data: entry(3), identity: 'other' })]);
    const [x, y] = await Promise.all([ledger.append({ data: entry(4), identity: 'new' }), ledger.append({ data: entry(5), identity: 'new' })]);
    expect(again).toMatchObject({ index: first.index, duplicate: true });
    expect(twin).toMatchObject({ index: 1, duplicate: false });
    expect(x).toMatchObject({ index: 2, duplicate: false });
    expect(y).toMatchObject({ index: 2, duplicate: true });
    expect(ledger.size).toBe(3);
    expect(await ledger.findIdentity('same')).toBe(0);
    await ledger.close();
  });

  it('calls abandon for every admitted entry of a batch whose commit fails', async () => {
    const store = new MemoryLogStore();
    const ledger = await Ledger.open({ store, signer: logKeys().signer });
    store.faults.beforeCommit = () => {
      throw new Error('disk full');
    };
    const abandoned: number[] = [];
    const failed = await Promise.allSettled(
      [1, 2].map((i) => ledger.append({ data: entry(i), identity: `id-${i}`, admit: () => [], abandon: () => abandoned.push(i) })),
    );
    for (const r of failed) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'STORE_FAILED' } });
    expect(abandoned).toEqual([2, 1]);
    expect(await ledger.findIdentity('id-1')).toBeUndefined();
    await ledger.close();
  });

  it('tells listeners about each durable checkpoint', async () => {
    const t = await levelLedger();
    try {
      const seen: number[] = [];
      t.ledger.onIntegrated((tree) => seen.push(tree.state.size));
      await appendMany(t.ledger, 3);
      await t.ledger.append({ data: entry(50) });
      expect(seen[seen.length - 1]).toBe(4);
    } finally {
      await t.cleanup();
    }
  });

  it('reopens from the stored tree state without replaying and keeps extending', async () => {
    const t = await levelLedger();
    const keys = logKeys();
    const { LevelLogStore } = await import('../../src/store/level.js');
    const { join } = await import('node:path');
    await t.ledger.close();
    const store1 = await LevelLogStore.open(join(t.dir, 'db2'));
    const l1 = await Ledger.open({ store: store1, signer: keys.signer });
    await appendMany(l1, 300);
    const cp = l1.checkpoint;
    await l1.close();
    const store2 = await LevelLogStore.open(join(t.dir, 'db2'));
    let entryReads = 0;
    const origRead = store2.readEntries.bind(store2);
    store2.readEntries = async (a, b) => {
      entryReads++;
      return origRead(a, b);
    };
    const l2 = await Ledger.open({ store: store2, signer: keys.signer });
    expect(l2.checkpoint).toBe(cp);
    expect(entryReads).toBe(0);
    await appendMany(l2, 5, 300);
    const proof = await l2.consistencyProof(300, 305);
    verifyConsistency(300, 305, proof.hashes, openCheckpoint(cp, keys.verifier).root, openCheckpoint(l2.checkpoint, keys.verifier).root);
    await l2.close();
    await t.cleanup();
  });

  it('refuses to open a store whose checkpoint belongs to another log', async () => {
    const store = new MemoryLogStore();
    await (await Ledger.open({ store, signer: logKeys('a.example/log').signer })).append({ data: entry(1) });
    await expect(Ledger.open({ store, signer: logKeys('b.example/log').signer })).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
  });
});

describe('ledger reads', () => {
  it('gives typed errors for out-of-range and malformed indexes and sizes', async () => {
    const t = await levelLedger();
    try {
      await appendMany(t.ledger, 5);
      await expect(t.ledger.entry(5)).rejects.toMatchObject({ code: 'INDEX_OUT_OF_RANGE' });
      await expect(t.ledger.entry(-1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(t.ledger.entry(1.5)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(t.ledger.inclusionProof(3, 3)).rejects.toMatchObject({ code: 'INDEX_OUT_OF_RANGE' });
      await expect(t.ledger.inclusionProof(0, 6)).rejects.toMatchObject({ code: 'TREE_SIZE_OUT_OF_RANGE' });
      await expect(t.ledger.consistencyProof(4, 2)).rejects.toMatchObject({ code: 'TREE_SIZE_OUT_OF_RANGE' });
      await expect(t.ledger.consistencyProof(1, 9)).rejects.toMatchObject({ code: 'TREE_SIZE_OUT_OF_RANGE' });
      expect(Buffer.from((await t.ledger.entry(4)).data).toString()).toBe('e-4');
    } finally {
      await t.cleanup();
    }
  });
});

describe('receipts after a commit', () => {
  it("prove new entries from the tiles the commit built, without reading them back from the store, and the proofs verify", async () => {
    const store = new MemoryLogStore();
    const keys = logKeys();
    const ledger = await Ledger.open({ store, signer: keys.signer });
    await appendMany(ledger, 300); // one full tile and partial tiles, all built by the commits
    let reads = 0;
    const readTile = store.readTile.bind(store);
    store.readTile = (level, index) => {
      reads++;
      return readTile(level, index);
    };
    for (const i of [0, 255, 256, 299]) {
      const p = await ledger.inclusionProof(i);
      expect(p.leafHash).toEqual(leafHash(entry(i)));
      expect(() => verifyInclusion(i, p.treeSize, p.leafHash, p.hashes, openCheckpoint(ledger.checkpoint, keys.verifier).root)).not.toThrow();
    }
    expect(reads).toBe(0);
    // With tile caching off, every proof reads its tiles.
    const cold = await Ledger.open({ store, signer: keys.signer, tileCacheSize: 0 });
    await cold.inclusionProof(299);
    expect(reads).toBeGreaterThan(0);
  });
});
