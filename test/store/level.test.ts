import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelLogStore } from '../../src/store/level.js';
import { tempDir } from '../helpers.js';
import { logStoreContract } from './contract.js';

logStoreContract('LevelDB', async () => {
  const dir = await tempDir();
  const path = join(dir.path, 'db');
  const fixture = {
    store: (await LevelLogStore.open(path)) as LevelLogStore,
    reopen: async () => {
      await fixture.store.close();
      fixture.store = await LevelLogStore.open(path);
      return fixture.store;
    },
    cleanup: async () => {
      await fixture.store.close().catch(() => undefined);
      await dir.remove();
    },
  };
  return fixture;
});

describe('LevelDB store', () => {
  it('refuses a second opener of the same database with a clear error', async () => {
    const dir = await tempDir();
    const first = await LevelLogStore.open(join(dir.path, 'db'));
    try {
      await expect(LevelLogStore.open(join(dir.path, 'db'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/in use/) });
    } finally {
      await first.close();
      await dir.remove();
    }
  });
});
