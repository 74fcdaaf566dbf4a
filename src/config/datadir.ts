/**
 * The data directory: ledger.json (origin, public keys), log.key (Ed25519, signs checkpoints),
 * admin.key / admin.pub (P-256, the root participant), db/ (LevelDB).
 */
import { PedigreeError } from '../errors.js';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKey, publicPem, readPrivateKey, writeNewFile, writePrivateKey, writePublicKey } from '../keys.js';

export const DEFAULT_ORIGIN = 'pedigree.local/log';

export interface LedgerConfig {
  readonly version: 1;
  readonly origin: string;
  readonly createdAt: string;
  /** SPKI PEM of the log's Ed25519 key. */
  readonly logPublicKey: string;
  /**
   * SPKI PEM of the first administrator's P-256 key: the root of the administrator hand-overs
   * the log holds (administrator-key statements); the current key follows from them.
   */
  readonly adminPublicKey: string;
  /**
   * Every log key the ledger has had, oldest first, once the log key has been rotated
   * (config/rotate.ts); the last is `logPublicKey`. Absent: one key, from createdAt and index 0.
   */
  readonly logKeys?: readonly LogKeyPeriod[];
}

/** One log key's term: the entries it signed the timestamps of, and when it was valid. */
export interface LogKeyPeriod {
  /** SPKI PEM of the Ed25519 key. */
  readonly publicKey: string;
  /** ISO time from which the key signs (whole seconds). */
  readonly validFrom: string;
  /** ISO time at which it was retired (whole seconds, inclusive; the next key's term starts a second later); absent for the current key. */
  readonly validUntil?: string;
  /** The first log index whose signed entry timestamp it made (the tree size when it took over). */
  readonly firstIndex: number;
}

export interface DataDir {
  readonly dir: string;
  readonly config: LedgerConfig;
  readonly logKey: KeyObject;
  readonly dbPath: string;
}

export class DataDirError extends PedigreeError<'LEDGER_EXISTS' | 'LEDGER_MISSING' | 'LEDGER_INVALID' | 'ORIGIN_INVALID'> {
  override readonly name = 'DataDirError';
}

const paths = (dir: string) => ({
  config: join(dir, 'ledger.json'),
  logKey: join(dir, 'log.key'),
  adminKey: join(dir, 'admin.key'),
  adminPub: join(dir, 'admin.pub'),
  db: join(dir, 'db'),
});

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Origins are schema-less URLs such as "example.com/log": printable, no spaces or "+", no scheme
 * ("https://" is added where a URL is made of it: the trusted root's baseUrl) and no trailing or
 * doubled "/".
 */
export function checkOrigin(origin: string): void {
  const shown = JSON.stringify(origin.slice(0, 120));
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(origin);
  if (scheme) {
    const bare = origin.slice(scheme[0].length).replace(/\/+$/, '');
    throw new DataDirError('ORIGIN_INVALID', `origin ${shown} must be a name without a scheme (it becomes https://<origin> in the trusted root): use ${JSON.stringify(bare.slice(0, 120))}`);
  }
  if (origin.endsWith('/')) throw new DataDirError('ORIGIN_INVALID', `origin ${shown} must not end with "/": use ${JSON.stringify(origin.replace(/\/+$/, '').slice(0, 120))}`);
  if (origin.includes('//')) throw new DataDirError('ORIGIN_INVALID', `origin ${shown} must not contain "//": it looks like host/path, such as example.org/log`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._~:/-]{0,254}$/.test(origin)) {
    throw new DataDirError('ORIGIN_INVALID', `origin ${shown} must look like host/path, such as example.org/log: letters, digits and . _ ~ : / - only`);
  }
}

export async function initDataDir(dir: string, origin: string = DEFAULT_ORIGIN): Promise<DataDir> {
  checkOrigin(origin);
  const p = paths(dir);
  if ((await exists(p.config)) || (await exists(p.logKey)) || (await exists(p.db))) {
    throw new DataDirError('LEDGER_EXISTS', `${dir} already holds a ledger; refusing to overwrite it`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const log = generateKey('ed25519');
  const admin = generateKey('p256');
  const config: LedgerConfig = {
    version: 1,
    origin,
    createdAt: new Date().toISOString(),
    logPublicKey: publicPem(log.publicKey),
    adminPublicKey: publicPem(admin.publicKey),
  };
  const written: string[] = [];
  try {
    for (const [path, write] of [
      [p.logKey, () => writePrivateKey(p.logKey, log.privateKey)],
      [p.adminKey, () => writePrivateKey(p.adminKey, admin.privateKey)],
      [p.adminPub, () => writePublicKey(p.adminPub, admin.publicKey)],
      [p.config, () => writeNewFile(p.config, `${JSON.stringify(config, null, 2)}\n`, 0o644)],
    ] as const) {
      await write();
      written.push(path);
    }
  } catch (e) {
    // Leave no half-made ledger behind.
    await Promise.all(written.map((f) => rm(f, { force: true })));
    throw e;
  }
  return { dir, config, logKey: log.privateKey, dbPath: p.db };
}

export async function isInitialised(dir: string): Promise<boolean> {
  return exists(paths(dir).config);
}

export async function loadDataDir(dir: string): Promise<DataDir> {
  const p = paths(dir);
  if (!(await exists(p.config))) {
    const hint = (await exists(dir)) && (await readdir(dir)).length > 0 ? ' (the directory exists but has no ledger.json)' : '';
    throw new DataDirError('LEDGER_MISSING', `no ledger in ${dir}${hint}; run "pedigree init --data ${dir}" first`);
  }
  let config: LedgerConfig;
  try {
    config = JSON.parse(await readFile(p.config, 'utf8')) as LedgerConfig;
    checkOrigin(config.origin);
    createPublicKey(config.logPublicKey);
    logKeyHistory(config);
  } catch (e) {
    throw new DataDirError('LEDGER_INVALID', `${p.config} is not a valid ledger configuration: ${(e as Error).message}`);
  }
  const logKey = await readPrivateKey(p.logKey);
  if (publicPem(logKey) !== config.logPublicKey) {
    throw new DataDirError('LEDGER_INVALID', `${p.logKey} does not match the log key in ${p.config}`);
  }
  return { dir, config, logKey, dbPath: p.db };
}

export function adminKeyPath(dir: string): string {
  return paths(dir).adminKey;
}

export function adminPubPath(dir: string): string {
  return paths(dir).adminPub;
}

export function logKeyPath(dir: string): string {
  return paths(dir).logKey;
}

export function configPath(dir: string): string {
  return paths(dir).config;
}

/** The ledger's log keys, oldest first, the current one last (one key when it was never rotated). */
export function logKeyHistory(config: LedgerConfig): LogKeyPeriod[] {
  const history = config.logKeys && config.logKeys.length > 0 ? [...config.logKeys] : [{ publicKey: config.logPublicKey, validFrom: config.createdAt, firstIndex: 0 }];
  const last = history[history.length - 1]!;
  if (last.publicKey !== config.logPublicKey || last.validUntil !== undefined) {
    throw new DataDirError('LEDGER_INVALID', "the log key history in ledger.json does not end with the current log key");
  }
  for (let i = 1; i < history.length; i++) {
    const [a, b] = [history[i - 1]!, history[i]!];
    if (a.validUntil === undefined || Date.parse(a.validUntil) >= Date.parse(b.validFrom) || a.firstIndex > b.firstIndex) {
      throw new DataDirError('LEDGER_INVALID', 'the log key history in ledger.json is not in order');
    }
  }
  return history;
}
