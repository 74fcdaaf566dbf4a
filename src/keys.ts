/**
 * Key files. Private keys are PKCS#8 PEM written with mode 0600 (and never logged); public keys
 * are SPKI PEM.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, open, readFile } from 'node:fs/promises';

export type KeyKind = 'ed25519' | 'p256';

export function generateKey(kind: KeyKind): { privateKey: KeyObject; publicKey: KeyObject } {
  return kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export function privatePem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function publicPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ format: 'pem', type: 'spki' }).toString();
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

export async function readPrivateKey(path: string): Promise<KeyObject> {
  const pem = await readFile(path, 'utf8');
  try {
    return createPrivateKey(pem);
  } catch {
    throw new Error(`${path} is not a PEM private key`);
  }
}

export async function readPublicKey(path: string): Promise<KeyObject> {
  const pem = await readFile(path, 'utf8');
  try {
    return createPublicKey(pem);
  } catch {
    throw new Error(`${path} is not a PEM public key`);
  }
}
