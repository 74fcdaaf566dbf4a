import { MemoryLogStore } from '../../src/store/memory.js';
import { logStoreContract } from './contract.js';

logStoreContract('memory', async () => {
  const store = new MemoryLogStore();
  return { store, cleanup: () => store.close() };
});
