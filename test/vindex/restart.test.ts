/**
 * The ledger's index on real LevelDB across restarts: after reopening (every node read back
 * from the store), more appends keep the root equal to the in-memory map of all lists, and every
 * lookup verifies against the root the checkpoint commits.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { parseCheckpoint, parseNote } from '../../src/log/index.js';
import { LevelLogStore } from '../../src/store/level.js';
import { VerifiableMap, indexRootOf, keyHash, valueHash, verifyList } from '../../src/vindex/map.js';
import { entry, logKeys, tempDir } from '../helpers.js';

describe('the index across restarts', () => {
  it('stays consistent when every node comes back from LevelDB', async () => {
    const dir = await tempDir();
    const keys = logKeys();
    const lists = new Map<string, number[]>();
    let n = 0;
    try {
      for (let round = 0; round < 3; round++) {
        const store = await LevelLogStore.open(join(dir.path, 'db'));
        // No cache: every read goes to the store.
        const ledger = await Ledger.open({ store, signer: keys.signer, indexCacheSize: 0 });
        const appends = [];
        for (let i = 0; i < 300; i++, n++) {
          const k = [`lot:s:p:L${n % 37}`, `partSerial:s:p:${n}`];
          appends.push(ledger.append({ data: entry(n), lookupKeys: k }).then((r) => k.forEach((key) => (lists.get(key) ?? lists.set(key, []).get(key)!).push(r.index))));
        }
        await Promise.all(appends);
        for (const l of lists.values()) l.sort((a, b) => a - b);
        const root = indexRootOf(parseCheckpoint(parseNote(ledger.checkpoint).text).extensions)!;
        const map = new VerifiableMap();
        for (const [k, v] of lists) map.set(keyHash(k), valueHash(v));
        expect(root).toEqual(map.root);
        const probe = ['lot:s:p:L3', `partSerial:s:p:${n - 1}`, 'lot:none:none:0'];
        const got = await ledger.readIndex((v) => v.lookup(probe));
        for (const l of got) {
          expect(l.indexes).toEqual(lists.get(l.key) ?? []);
          verifyList(root, l.key, l.indexes, l.proof);
        }
        await ledger.close();
      }
    } finally {
      await dir.remove();
    }
  }, 60_000);
});
