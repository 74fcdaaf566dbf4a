/**
 * Key files. Private keys are PKCS#8 PEM written with mode 0600 (and never logged); public keys
 * are SPKI PEM.
 */
import { PedigreeError } from './errors.js';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, open, readFile } from 'node:fs/promises';

export type KeyKind = 'ed25519' | 'p256';

export function generateKey(kind: KeyKind): { privateKey: KeyObject; publicKey: KeyObject } {
  return kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export function privatePem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** SPKI PEM in one canonical encoding (an EC point uncompressed, whatever form it was read in). */
export function publicPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const canonical = pub.asymmetricKeyType === 'ec' ? createPublicKey({ key: pub.export({ format: 'jwk' }), format: 'jwk' }) : pub;
  return canonical.export({ format: 'pem', type: 'spki' }).toString();
}

/** Writes a file that must not exist yet, with the given mode from the first byte on. */
export async function writeNewFile(path: string, contents: string, mode: number): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.writeFile(contents);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(path, mode); // the umask may have narrowed or widened the creation mode
}

export async function writePrivateKey(path: string, key: KeyObject): Promise<void> {
  await writeNewFile(path, privatePem(key), 0o600);
}

export async function writePublicKey(path: string, key: KeyObject): Promise<void> {
  await writeNewFile(path, publicPem(key), 0o644);
}

/** A key file that is missing, unreadable or the wrong kind of key; the message says which. */
export class KeyFileError extends PedigreeError<'KEY_FILE_INVALID'> {
  override readonly name = 'KeyFileError';
  constructor(message: string) {
    super('KEY_FILE_INVALID', message);
  }
}

async function readKeyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new KeyFileError(code === 'ENOENT' ? `key file ${path} does not exist` : `cannot read key file ${path}`);
  }
}

export async function readPrivateKey(path: string): Promise<KeyObject> {
  const pem = await readKeyFile(path);
  try {
    return createPrivateKey(pem);
  } catch {
    throw new KeyFileError(`${path} is not a PEM private key`);
  }
}

/**
 * The administrator's key. The log key (Ed25519, DATA/log.key) sits beside it; signing with it
 * would be refused by the ledger anyway, but it must never be used for anything but the log.
 */
export async function readAdminKey(path: string): Promise<KeyObject> {
  const key = await readPrivateKey(path);
  if (key.asymmetricKeyType === 'ed25519') {
    throw new KeyFileError(`${path} is an Ed25519 key: that is the log's own signing key (DATA/log.key), not the administrator key (DATA/admin.key). Nothing was signed or sent.`);
  }
  return key;
}

/**
 * A public key, re-encoded as SPKI PEM. A private key is refused here, before anything is sent
 * anywhere: Node would happily derive the public half, but a private key in a public-key slot
 * means the wrong file was given, and the file itself may end up copied or logged.
 */
export async function readPublicKey(path: string): Promise<KeyObject> {
  const pem = await readKeyFile(path);
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new KeyFileError(`${path} holds a PRIVATE key; give the public key (the .pub file). Nothing was sent.`);
  }
  try {
    return createPublicKey(pem);
  } catch {
    throw new KeyFileError(`${path} is not a PEM public key`);
  }
}
