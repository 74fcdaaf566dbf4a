import { resolve } from 'node:path';
import { verifierKeyString } from '../crypto/node.js';
import { createPublicKey } from 'node:crypto';
import { adminKeyPath, initDataDir } from '../config/datadir.js';
import { printJson } from './util.js';

export async function initCommand(opts: { data: string; origin: string; json?: boolean }): Promise<void> {
  const dir = resolve(opts.data);
  const d = await initDataDir(dir, opts.origin);
  const vkey = verifierKeyString(d.config.origin, createPublicKey(d.config.logPublicKey));
  if (opts.json) {
    printJson({ dataDir: dir, origin: d.config.origin, logVerifierKey: vkey, adminKey: adminKeyPath(dir) });
    return;
  }
  process.stdout.write(
    [
      `Created a new Pedigree ledger in ${dir}`,
      `  origin:             ${d.config.origin}`,
      `  log verifier key:   ${vkey}`,
      `  administrator key:  ${adminKeyPath(dir)} (keep it secret; it registers participants)`,
      `Start it with: pedigree serve --data ${opts.data}`,
      '',
    ].join('\n'),
  );
}
