import { resolve } from 'node:path';
import { generateKey, writePrivateKey, writePublicKey } from '../keys.js';
import { keyIdOf } from '../trust/keys.js';
import { CliError, printJson, whyUnreadable } from './util.js';

export async function keygenCommand(opts: { out: string; json?: boolean }): Promise<void> {
  const { privateKey, publicKey } = generateKey('p256');
  const keyPath = resolve(`${opts.out}.key`);
  const pubPath = resolve(`${opts.out}.pub`);
  try {
    await writePrivateKey(keyPath, privateKey);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${keyPath} already exists; refusing to overwrite a key`);
    throw new CliError(`--out ${opts.out}: cannot write ${keyPath}: ${whyUnreadable(e)} (a path prefix in an existing, writable folder was expected)`);
  }
  await writePublicKey(pubPath, publicKey);
  const keyId = keyIdOf(publicKey);
  if (opts.json) return printJson({ privateKey: keyPath, publicKey: pubPath, keyId });
  process.stdout.write(`Wrote ${keyPath} (private, mode 0600) and ${pubPath}\nKey ID: ${keyId}\nSend ${pubPath} to the ledger administrator to be registered.\n`);
}
