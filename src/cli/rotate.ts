/**
 * `pedigree rotate-log-key` (a stopped ledger's log key, config/rotate.ts) and
 * `pedigree rotate-admin-key` (the administrator's hand-over to a new key, logged). See docs/keys.md.
 */
import { resolve } from 'node:path';
import { ADMIN_KEY_URI } from '../attest/predicates.js';
import { signStatement, statement } from '../attest/sign.js';
import { submitBundle } from '../client/graphql.js';
import { installAdminKey, rotateLogKey } from '../config/rotate.js';
import { publicPem, readAdminKey } from '../keys.js';
import { adminKeyOption } from './participant.js';
import { keyIdOf } from '../trust/keys.js';
import { CliError, printJson, readKeyFor, terminalSafe } from './util.js';

export async function rotateLogKeyCommand(opts: { data: string; store?: string; json?: boolean }): Promise<void> {
  const dir = resolve(opts.data);
  if (opts.store !== undefined && !/^postgres(ql)?:\/\//.test(opts.store)) throw new CliError('--store must be a PostgreSQL URL, postgres://user@host/database');
  const r = await rotateLogKey(dir, opts.store !== undefined ? { store: opts.store } : {});
  if (opts.json) {
    printJson({ dataDir: r.dataDir, rotatedAt: r.rotatedAt, treeSize: r.treeSize, oldLogId: r.oldLogId, newLogId: r.newLogId, logVerifierKey: r.verifierKey, retiredKeyFile: r.retiredKeyFile, keys: r.keys.map((k) => ({ validFrom: k.validFrom, validUntil: k.validUntil ?? null, firstIndex: k.firstIndex })) });
    return;
  }
  process.stdout.write(
    [
      `Rotated the log key of ${dir} at ${r.rotatedAt} (tree size ${r.treeSize}).`,
      `  new log verifier key: ${r.verifierKey}`,
      `  new log ID:           ${r.newLogId}`,
      `  old log ID:           ${r.oldLogId} (valid until ${r.rotatedAt})`,
      `  old private key:      ${r.retiredKeyFile} (no longer read; move it offline or destroy it)`,
      'Before starting the ledger again:',
      '  - witnesses: pedigree witness add-log --vkey <the new verifier key> (and restart them);',
      '  - publish the new GET /trusted_root.json (it lists both keys) to verifiers and monitors.',
      '',
    ].join('\n'),
  );
}

export interface RotateAdminOptions {
  server: string;
  adminKey: string;
  newKey: string;
  data?: string;
  note?: string;
  json?: boolean;
}

export async function rotateAdminKeyCommand(opts: RotateAdminOptions): Promise<void> {
  const current = await adminKeyOption(opts.adminKey);
  const next = await readKeyFor('--new-key', 'the new administrator PEM private key (pedigree keygen writes one)', () => readAdminKey(opts.newKey));
  if (next.asymmetricKeyType !== 'ec' || next.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new CliError(`${opts.newKey} is not an ECDSA P-256 key (make one with pedigree keygen)`);
  if (publicPem(current) === publicPem(next)) throw new CliError('--new-key is the current administrator key');
  const predicate: Record<string, unknown> = { publicKey: publicPem(next), issuedAt: new Date().toISOString(), ...(opts.note !== undefined && { note: opts.note }) };
  const bundle = await signStatement(statement([{ name: 'participant:admin', digest: { participant: 'admin' } }], ADMIN_KEY_URI, predicate), current);
  const r = await submitBundle(opts.server, bundle);
  const installed = opts.data !== undefined ? await installAdminKey(resolve(opts.data), next) : undefined;
  const keyId = keyIdOf(publicPem(next));
  if (opts.json) return printJson({ logIndex: r.logIndex, duplicate: r.duplicate, oldKeyId: keyIdOf(publicPem(current)), newKeyId: keyId, ...(installed && { adminKey: installed.adminKey, retiredKeyFile: installed.retiredKeyFile }) });
  process.stdout.write(`Handed the administrator over to key ${keyId} at log index ${r.logIndex}; the old key signs nothing from now on.\n`);
  if (installed) process.stdout.write(`  ${terminalSafe(installed.adminKey)} is the new key; the old one is ${terminalSafe(installed.retiredKeyFile)} (destroy it)\n`);
  else process.stdout.write(`  Sign registry statements with ${terminalSafe(opts.newKey)} from now on (--admin-key), and destroy the old key.\n`);
}
