/**
 * Key rotation in the data directory.
 *
 * The log key (`rotateLogKey`), on a stopped ledger: a new Ed25519 key becomes log.key; the old
 * private key is kept, renamed, as log.key.retired-<time> (mode 0600) and never read again;
 * ledger.json records every key with its term (validity and the first log index whose entry
 * timestamp it signed). The ledger's current checkpoint is signed again by the new key and the
 * old one together: the hand-over checkpoint, which lets anyone who trusted the old key see the
 * same tree vouched for by the new one. Entries integrated before keep their signed entry
 * timestamps and the old key's log ID; the trusted root lists both keys, each for its term.
 *
 * The administrator key (`installAdminKey`): after the hand-over is logged (an
 * administrator-key statement, cli/rotate.ts), the new key replaces admin.key and admin.pub.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { ed25519NoteSigner, ed25519Raw, useNativeCrypto, verifierKeyString } from '../crypto/node.js';
import { generateKey, publicPem, writeNewFile, writePrivateKey, writePublicKey } from '../keys.js';
import { ed25519KeyHash, parseCheckpoint, parseNote, signNote } from '../log/index.js';
import { LevelLogStore } from '../store/level.js';
import type { LogStore } from '../store/store.js';
import { adminKeyPath, adminPubPath, configPath, DataDirError, loadDataDir, logKeyHistory, logKeyPath, type LedgerConfig, type LogKeyPeriod } from './datadir.js';

export interface LogKeyRotation {
  readonly dataDir: string;
  /** When the old key's validity ends (ISO, whole seconds, inclusive). */
  readonly rotatedAt: string;
  /** When the new key's validity starts: a second later. */
  readonly newKeyFrom: string;
  /** The tree size at the rotation: entries from this index on carry the new key's timestamps. */
  readonly treeSize: number;
  readonly oldLogId: string;
  readonly newLogId: string;
  /** The new key as witnesses and `pedigree witness add-log --vkey` take it. */
  readonly verifierKey: string;
  /** Where the old private key was moved. */
  readonly retiredKeyFile: string;
  /** The stored checkpoint, signed by the new key and the old one. */
  readonly handoverCheckpoint: string;
  readonly keys: readonly LogKeyPeriod[];
}

const iso = (secs: number) => new Date(secs * 1000).toISOString();
const stamp = (secs: number) => iso(secs).replace(/[:.]/g, '-');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Rotates the log key of the stopped ledger in `dir`. Opening the database also proves the
 * ledger is stopped (LevelDB allows one process at a time). `clock` (ms) is for tests.
 */
export async function rotateLogKey(dir: string, options: { clock?: () => number; store?: string } = {}): Promise<LogKeyRotation> {
  useNativeCrypto();
  const d = await loadDataDir(dir);
  const history = logKeyHistory(d.config);
  // A PostgreSQL store is held by its writer lock as LevelDB is by its own (app.ts).
  const opening: Promise<LogStore> =
    options.store !== undefined ? import('../app.js').then((app) => app.openPostgresStore(d, options.store!, { writer: true })) : LevelLogStore.open(d.dbPath);
  const store = await opening.catch((e: unknown) => {
    throw new DataDirError('LEDGER_INVALID', `${(e as Error).message}: stop the ledger (every pedigree serve on it) before rotating its log key`);
  });
  const origin = d.config.origin;
  const oldSigner = ed25519NoteSigner(origin, d.logKey);
  const next = generateKey('ed25519');
  const newSigner = ed25519NoteSigner(origin, next.privateKey);
  let rotation: Omit<LogKeyRotation, 'retiredKeyFile' | 'keys'> & { keys: LogKeyPeriod[] };
  const newKeyFile = `${logKeyPath(dir)}.next`;
  try {
    const tree = await store.readTree();
    if (!tree) throw new DataDirError('LEDGER_INVALID', `the ledger in ${dir} has never been started; nothing was signed with its key yet, so there is nothing to rotate (run pedigree init again instead)`);
    const size = tree.state.size;
    // The terms do not overlap: the old key's ends at `at` (now, or the last entry's time if the
    // clock reads earlier, so every entry it timestamped falls inside it), the new key's starts a
    // second later. No time is valid for both, so a stolen old key cannot pass for the new one.
    const clock = options.clock ?? Date.now;
    const last = size > 0 ? (await store.readEntry(size - 1))?.integratedTime ?? 0 : 0;
    const at = Math.max(Math.floor(clock() / 1000), last, Math.floor(Date.parse(history[history.length - 1]!.validFrom) / 1000));
    // The hand-over checkpoint: the same tree, signed by the new key first and the old one too.
    const text = parseNote(tree.checkpoint).text;
    const cp = parseCheckpoint(text);
    if (cp.origin !== origin || cp.size !== size) throw new DataDirError('LEDGER_INVALID', 'the stored checkpoint is not the stored tree');
    const handover = signNote(text, [newSigner, oldSigner]);
    const keys: LogKeyPeriod[] = [
      ...history.slice(0, -1),
      { ...history[history.length - 1]!, validUntil: iso(at) },
      { publicKey: publicPem(next.publicKey), validFrom: iso(at + 1), firstIndex: size },
    ];
    const config: LedgerConfig = { ...d.config, logPublicKey: publicPem(next.publicKey), logKeys: keys };
    // The new key is on disk before anything is signed with it; an interrupted rotation leaves
    // log.key.next behind and changes nothing else (see docs/keys.md).
    await writePrivateKey(newKeyFile, next.privateKey).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EEXIST' ? new DataDirError('LEDGER_INVALID', `${newKeyFile} exists: an earlier rotation was interrupted; see docs/keys.md`) : e;
    });
    const configNext = `${configPath(dir)}.next`;
    await rm(configNext, { force: true });
    await writeNewFile(configNext, `${JSON.stringify(config, null, 2)}\n`, 0o644);
    await store.commit({ fromSize: size, tree: { state: tree.state, checkpoint: handover }, entries: [], tiles: new Map(), records: [] });
    // Holding the database, wait (at most a second) for the new term, so the ledger cannot start
    // and integrate an entry at a time its new key is not valid for.
    while (clock() < (at + 1) * 1000) await delay(Math.min(1000, (at + 1) * 1000 - clock()));
    rotation = {
      dataDir: dir,
      rotatedAt: iso(at),
      newKeyFrom: iso(at + 1),
      treeSize: size,
      oldLogId: hex(ed25519KeyHash(origin, ed25519Raw(d.logKey))),
      newLogId: hex(ed25519KeyHash(origin, ed25519Raw(next.privateKey))),
      verifierKey: verifierKeyString(origin, next.publicKey),
      handoverCheckpoint: handover,
      keys,
    };
  } finally {
    await store.close();
  }
  // Three renames: the old key retired, the new key in place, the configuration that names it.
  const retired = `${logKeyPath(dir)}.retired-${stamp(Date.parse(rotation.rotatedAt) / 1000)}`;
  await rename(logKeyPath(dir), retired);
  await rename(newKeyFile, logKeyPath(dir));
  await rename(`${configPath(dir)}.next`, configPath(dir));
  await loadDataDir(dir); // what the next start will read
  return { ...rotation, retiredKeyFile: retired };
}

/**
 * Puts a new administrator key in the data directory once its hand-over is logged: admin.key
 * (0600) and admin.pub; the old private key is kept as admin.key.retired-<time> (0600). The
 * ledger itself reads neither file: it follows the hand-overs in the log.
 */
export async function installAdminKey(dir: string, key: KeyObject, clock: () => number = Date.now): Promise<{ adminKey: string; retiredKeyFile: string }> {
  await loadDataDir(dir);
  const pub = createPublicKey(key);
  const retired = `${adminKeyPath(dir)}.retired-${stamp(Math.floor(clock() / 1000))}`;
  await writePrivateKey(`${adminKeyPath(dir)}.next`, key);
  await rm(`${adminPubPath(dir)}.next`, { force: true });
  await writePublicKey(`${adminPubPath(dir)}.next`, pub);
  await rename(adminKeyPath(dir), retired);
  await rename(`${adminKeyPath(dir)}.next`, adminKeyPath(dir));
  await rename(`${adminPubPath(dir)}.next`, adminPubPath(dir));
  return { adminKey: adminKeyPath(dir), retiredKeyFile: retired };
}
