/** `pedigree backup` and `pedigree restore` (src/store/backup.ts, docs/backup.md). */
import { BackupError, restoreBackup, takeBackup } from '../store/backup.js';
import { DataDirError } from '../config/datadir.js';
import { CliError, printJson, terminalSafe } from './util.js';

/** Refusals the person at the terminal can act on, as CLI errors (exit 3, or 1 for an inconsistent copy). */
function refusal(e: unknown): never {
  if (e instanceof BackupError) throw new CliError(e.message, e.code === 'RESTORE_AUDIT_FAILED' ? 1 : 3);
  if (e instanceof DataDirError) throw new CliError(e.message);
  throw e;
}

export async function backupCommand(opts: { data: string; out: string; withoutKeys?: boolean; json?: boolean }): Promise<void> {
  const { out, manifest: m } = await takeBackup({ data: opts.data, out: opts.out, ...(opts.withoutKeys && { withoutKeys: true }) }).catch(refusal);
  if (opts.json) {
    printJson({ out, origin: m.origin, treeSize: m.treeSize, root: m.root, live: m.live, keys: m.keys, records: m.records, createdAt: m.createdAt });
    return;
  }
  process.stdout.write(
    [
      `backed up ${terminalSafe(m.origin)} at tree size ${m.treeSize}, root ${m.root}`,
      `  into:   ${terminalSafe(out)} (${m.live ? 'taken from the serving ledger' : 'the ledger was stopped'})`,
      m.keys.length > 0
        ? `  keys:   ${m.keys.join(', ')} included (mode 0600). Whoever holds log.key can sign checkpoints for this log: keep the backup as secret as the data directory`
        : '  keys:   not included; restoring needs --keys DIR with log.key (and admin.key)',
      '',
    ].join('\n'),
  );
}

export async function restoreCommand(opts: { from: string; data: string; keys?: string; json?: boolean }): Promise<void> {
  let r;
  try {
    r = await restoreBackup({ from: opts.from, data: opts.data, ...(opts.keys !== undefined && { keys: opts.keys }) });
  } catch (e) {
    if (opts.json && e instanceof BackupError && e.code === 'RESTORE_AUDIT_FAILED') {
      printJson({ restored: false, consistent: false, ...(e.problem && { problem: e.problem }), message: e.message });
      process.exitCode = 1;
      return;
    }
    refusal(e);
  }
  const m = r.manifest;
  if (opts.json) {
    printJson({ restored: true, consistent: true, data: r.data, origin: m.origin, treeSize: m.treeSize, root: m.root, entries: r.entries, tiles: r.tiles, indexKeys: r.indexKeys, keys: r.keys });
    return;
  }
  process.stdout.write(
    [
      `restored ${terminalSafe(m.origin)} at tree size ${m.treeSize}, root ${m.root}`,
      `  into:     ${terminalSafe(r.data)}`,
      `  audit:    consistent: ${r.entries} entries, ${r.tiles} tiles, ${r.indexKeys} index keys, the checkpoint and every bundle agree`,
      `  keys:     ${r.keys.join(', ')} (mode 0600)`,
      `  serve it: pedigree serve --data ${terminalSafe(r.data)}`,
      '',
    ].join('\n'),
  );
}
