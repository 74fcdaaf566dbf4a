/**
 * Composition root: wires the data directory, the LevelDB store, the log signer and the ledger.
 */
import { Ledger } from './ledger/ledger.js';
import { ed25519NoteSigner } from './log/index.js';
import { LevelLogStore } from './store/level.js';
import { loadDataDir, type DataDir } from './config/datadir.js';
import type { SequencerOptions } from './ledger/sequencer.js';

export interface OpenedLedger {
  readonly dataDir: DataDir;
  readonly ledger: Ledger;
}

export async function openLedger(dir: string, options: { sequencer?: Partial<SequencerOptions> } = {}): Promise<OpenedLedger> {
  const dataDir = await loadDataDir(dir);
  const store = await LevelLogStore.open(dataDir.dbPath);
  try {
    const signer = ed25519NoteSigner(dataDir.config.origin, dataDir.logKey);
    const ledger = await Ledger.open({ store, signer, ...(options.sequencer ? { sequencer: options.sequencer } : {}) });
    return { dataDir, ledger };
  } catch (e) {
    await store.close();
    throw e;
  }
}
