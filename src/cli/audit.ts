/** `pedigree audit --data DIR`: a stopped ledger's data directory checked against itself. */
import { resolve } from 'node:path';
import { loadDataDir, logKeyHistory } from '../config/datadir.js';
import { LevelLogStore } from '../store/level.js';
import { StoreError } from '../store/store.js';
import { auditStore } from '../store/audit.js';
import { CliError, printJson, terminalSafe } from './util.js';

export async function auditCommand(opts: { data: string; json?: boolean }): Promise<void> {
  const dir = resolve(opts.data);
  const dataDir = await loadDataDir(dir);
  let store: LevelLogStore;
  try {
    store = await LevelLogStore.open(dataDir.dbPath);
  } catch (e) {
    if (e instanceof StoreError && e.code === 'STORE_UNAVAILABLE') throw new CliError(`${e.message}: stop the ledger first, or audit a copy of ${dir}`);
    throw e;
  }
  try {
    let shown = 0;
    const r = await auditStore(store, dataDir.config.origin, logKeyHistory(dataDir.config), dataDir.config.adminPublicKey, (done, of) => {
      if (!opts.json && process.stderr.isTTY && done - shown >= 65_536) {
        shown = done;
        process.stderr.write(`\r  read ${done} of ${of} entries`);
      }
    });
    if (shown > 0) process.stderr.write('\n');
    if (opts.json) printJson({ consistent: r.problem === undefined, entries: r.entries, tiles: r.tiles, keys: r.keys, ...(r.problem && { problem: r.problem }) });
    else if (r.problem) process.stdout.write(`INCONSISTENT  ${terminalSafe(r.problem.where)}: ${terminalSafe(r.problem.message)} (${r.problem.kind})\n`);
    else process.stdout.write(`consistent  ${r.entries} entries, ${r.tiles} tiles, ${r.keys} index keys, the checkpoint and every bundle agree\n`);
    process.exitCode = r.problem ? 1 : 0;
  } finally {
    await store.close();
  }
}
