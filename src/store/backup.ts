/**
 * Backups of a ledger's data directory, taken while it serves or while it is stopped, and
 * restores of them (`pedigree backup`, `pedigree restore`; docs/backup.md).
 *
 * While it serves, the ledger holds LevelDB's lock, so no other process can open its store. It
 * listens instead on a Unix domain socket in the data directory, DATA/backup.sock, created with
 * mode 0600 from the start (bound in a private 0700 directory, then renamed into place): only the
 * directory's owner (and root) can connect, so file permissions are the authentication. Asked for
 * a snapshot, it streams every key and value of one LevelDB snapshot, raw, in frames; the socket
 * carries no secret and no path, and the serving process writes no file. The backup command
 * writes the copy into a fresh LevelDB itself and reads ledger.json and the key files from the
 * data directory (it is the directory's owner, or it could not have connected).
 *
 * Consistency: each commit of the ledger (src/ledger/ledger.ts integrateBatch → store.commit) is
 * one atomic LevelDB batch holding the entries, tiles, records, index lists and the signed
 * checkpoint together, and nothing is written outside those batches. A LevelDB snapshot sees
 * either all of a batch or none of it, so every instant is between two commits and the copy's
 * tree, entries, tiles, records, index and checkpoint agree.
 *
 * Wire protocol (one request per connection): the client sends one JSON line
 * {"v":1,"op":"snapshot"}; the server answers one JSON line, {"ok":true,"v":1} or
 * {"ok":false,"error":"…"}, then frames: u32 key length, u32 value length (big-endian), key,
 * value; then an end frame of key length 0 whose value-length field is the number of records.
 *
 * A backup directory holds backup.json (what it is: origin, tree size, root, checkpoint, which
 * keys), ledger.json, admin.pub, db/ (LevelDB) and, unless made without them, log.key and
 * admin.key (mode 0600). Both commands write into a temporary sibling directory and rename it
 * into place only once complete, so a failure leaves nothing behind.
 */
import { createPublicKey } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { chmod, cp, lstat, mkdtemp, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Level } from 'level';
import { PedigreeError } from '../errors.js';
import { loadDataDir, type LedgerConfig } from '../config/datadir.js';
import { ed25519NoteVerifier } from '../crypto/node.js';
import { openCheckpoint } from '../log/index.js';
import { publicPem, readPrivateKey } from '../keys.js';
import { LevelLogStore } from './level.js';
import { StoreError } from './store.js';
import { auditStore, type AuditProblem } from './audit.js';

export const BACKUP_SOCKET = 'backup.sock';
export const BACKUP_FORMAT = 'pedigree-backup/v1';
const MANIFEST = 'backup.json';
const KEY_FILES = ['log.key', 'admin.key'] as const;
const PUBLIC_FILES = ['ledger.json', 'admin.pub'] as const;
/**
 * The longest socket path used: a Unix socket address holds 104 bytes on macOS, 108 on Linux, and
 * Node does not refuse a longer path, it truncates it (binding or connecting somewhere else).
 */
const MAX_SOCKET_PATH = 103;
const socketPathFits = (path: string) => Buffer.byteLength(path) <= MAX_SOCKET_PATH;
/** A client that sends nothing, or stops reading, for this long is disconnected. */
const IDLE_MS = 60_000;

export type BackupErrorCode =
  | 'BACKUP_TARGET_NOT_EMPTY'
  | 'TARGET_PARENT_MISSING'
  | 'BACKUP_SOURCE_INVALID'
  | 'BACKUP_UNAVAILABLE'
  | 'BACKUP_INTERRUPTED'
  | 'BACKUP_INVALID'
  | 'BACKUP_NO_KEYS'
  | 'RESTORE_TARGET_NOT_EMPTY'
  | 'RESTORE_AUDIT_FAILED';

export class BackupError extends PedigreeError<BackupErrorCode> {
  override readonly name = 'BackupError';
  /** For RESTORE_AUDIT_FAILED: the first inconsistency the audit named. */
  problem?: AuditProblem;
}

/** The store's raw keys and values at one instant, in chunks (LevelLogStore.snapshot). */
export type SnapshotSource = () => AsyncIterable<Array<[Uint8Array, Uint8Array]>>;

export interface BackupManifest {
  readonly format: typeof BACKUP_FORMAT;
  readonly createdAt: string;
  readonly origin: string;
  readonly treeSize: number;
  /** The tree's root hash, base64 (as in the checkpoint). */
  readonly root: string;
  /** The signed checkpoint the backup's tree carries. */
  readonly checkpoint: string;
  /** The secret key files included (mode 0600): log.key signs checkpoints, admin.key is the root participant. */
  readonly keys: string[];
  /** Whether the snapshot was taken from the serving ledger (true) or from a stopped one. */
  readonly live: boolean;
  readonly records: number;
}

// ---------------------------------------------------------------------------------------------
// The serving side.

export interface BackupListener {
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Listens on DATA/backup.sock for snapshot requests. Call while holding the store (after
 * openLedger): its lock means no other process serves this directory, so a socket already there
 * was left by one that died, and is replaced. Anything else at that path is refused.
 */
export async function serveBackups(dir: string, snapshot: SnapshotSource): Promise<BackupListener> {
  const path = join(resolve(dir), BACKUP_SOCKET);
  if (!socketPathFits(path)) throw new BackupError('BACKUP_UNAVAILABLE', `the data directory's path is too long for a Unix socket (${path} is over ${MAX_SOCKET_PATH} bytes); use a shorter path, or stop the ledger to back it up`);
  const old = await lstat(path).catch(() => undefined);
  if (old && !old.isSocket()) throw new BackupError('BACKUP_UNAVAILABLE', `${path} exists and is not a socket; move it away to allow backups while serving`);
  if (old) await unlink(path);
  // One snapshot is streamed at a time, until it has all been handed over (or failed).
  let busy = false;
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    void answer(socket).catch(() => socket.destroy());
  });
  const answer = async (socket: Socket) => {
    const line = await requestLine(socket);
    let request: { v?: unknown; op?: unknown } | undefined;
    try {
      request = JSON.parse(line) as typeof request;
    } catch {
      request = undefined;
    }
    // Nothing more is expected from the client; reading on lets its close be seen.
    socket.on('data', () => socket.destroy());
    socket.resume();
    const refuse = (error: string) => socket.end(`${JSON.stringify({ ok: false, error })}\n`);
    if (request?.v !== 1 || request.op !== 'snapshot') return refuse('unknown request: this ledger answers {"v":1,"op":"snapshot"}');
    if (busy) return refuse('another backup is being taken; try again when it has finished');
    busy = true;
    try {
      await pipeline(Readable.from(frames(snapshot), { highWaterMark: 2 }), socket);
    } finally {
      busy = false;
    }
  };
  // Bound in a fresh 0700 directory, made 0600, then renamed into place: the socket is never
  // reachable at DATA/backup.sock with wider permissions, whatever the umask.
  const tmp = await mkdtemp(join(dirname(path), '.b-'));
  try {
    const bound = join(tmp, 's'); // as long as `path`
    if (!socketPathFits(bound)) throw new Error('the path is too long');
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(bound, () => {
        server.off('error', fail);
        ok();
      });
    });
    await chmod(bound, 0o600);
    await rename(bound, path);
  } catch (e) {
    server.close();
    throw new BackupError('BACKUP_UNAVAILABLE', `cannot listen on ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const ino = (await stat(path)).ino;
  return {
    path,
    close: async () => {
      const closed = new Promise<void>((done) => server.close(() => done()));
      for (const s of sockets) s.destroy();
      await closed;
      // Remove the socket only if it is still this one.
      if ((await lstat(path).catch(() => undefined))?.ino === ino) await unlink(path).catch(() => undefined);
    },
  };
}

function requestLine(socket: Socket): Promise<string> {
  return new Promise((ok, fail) => {
    let text = '';
    const onData = (c: Buffer) => {
      text += c.toString('latin1');
      const i = text.indexOf('\n');
      if (i >= 0) {
        socket.off('data', onData);
        socket.pause();
        ok(text.slice(0, i));
      } else if (text.length > 1024) fail(new Error('request too long'));
    };
    socket.on('data', onData);
    socket.once('end', () => fail(new Error('no request')));
    socket.once('close', () => fail(new Error('no request')));
  });
}

async function* frames(snapshot: SnapshotSource): AsyncGenerator<Buffer> {
  yield Buffer.from(`${JSON.stringify({ ok: true, v: 1 })}\n`);
  let count = 0;
  for await (const chunk of snapshot()) {
    const parts: Buffer[] = [];
    for (const [k, v] of chunk) {
      if (k.length === 0) throw new StoreError('STORE_CORRUPT', 'the store holds an empty key');
      const head = Buffer.alloc(8);
      head.writeUInt32BE(k.length, 0);
      head.writeUInt32BE(v.length, 4);
      parts.push(head, Buffer.from(k.buffer, k.byteOffset, k.byteLength), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      count++;
    }
    yield Buffer.concat(parts);
  }
  const end = Buffer.alloc(8);
  end.writeUInt32BE(count, 4);
  yield end;
}

// ---------------------------------------------------------------------------------------------
// The client side of the socket.

/** Reads exact byte counts and lines from a stream, without copying more than needed. */
class ByteReader {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.size < n) {
      const r = await this.it.next();
      if (r.done) return false;
      this.chunks.push(r.value);
      this.size += r.value.length;
    }
    return true;
  }

  async take(n: number): Promise<Buffer> {
    if (!(await this.fill(n))) throw new BackupError('BACKUP_INTERRUPTED', 'the ledger stopped sending the snapshot before its end (was it stopped?); nothing was kept');
    const first = this.chunks[0];
    let out: Buffer;
    if (n === 0) return Buffer.alloc(0);
    if (first && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.size -= n;
    return out;
  }

  async line(max: number): Promise<string> {
    for (;;) {
      const all = Buffer.concat(this.chunks);
      const i = all.indexOf(10);
      if (i >= 0) {
        this.chunks = [all];
        return (await this.take(i + 1)).subarray(0, i).toString('utf8');
      }
      if (all.length > max || !(await this.fill(all.length + 1))) throw new BackupError('BACKUP_INTERRUPTED', 'the ledger gave no answer to the backup request');
    }
  }
}

/**
 * Asks the ledger serving `dir` for a snapshot. Undefined when none serves it (no socket, or one
 * left by a ledger that stopped).
 */
export async function requestSnapshot(dir: string): Promise<{ chunks: AsyncGenerator<Array<[Uint8Array, Uint8Array]>>; close: () => void } | undefined> {
  const path = join(resolve(dir), BACKUP_SOCKET);
  // Too long a path could only reach some other socket; a ledger there serves no backups.
  if (!socketPathFits(path)) return undefined;
  const socket = await new Promise<Socket | undefined>((ok, fail) => {
    const s = connect(path);
    s.once('connect', () => {
      s.off('error', onError);
      ok(s);
    });
    const onError = (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') ok(undefined);
      else fail(new BackupError('BACKUP_UNAVAILABLE', `cannot reach the serving ledger at ${path}: ${e.code === 'EACCES' ? 'permission denied (only the owner of the data directory may take backups)' : e.message}`, { cause: e }));
    };
    s.once('error', onError);
  });
  if (!socket) return undefined;
  socket.on('error', () => undefined);
  socket.setTimeout(IDLE_MS, () => socket.destroy(new BackupError('BACKUP_INTERRUPTED', 'the ledger sent nothing for 60 s')));
  socket.write(`${JSON.stringify({ v: 1, op: 'snapshot' })}\n`);
  const it = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const reader = new ByteReader(it);
  try {
    let head: { ok?: unknown; error?: unknown };
    try {
      head = JSON.parse(await reader.line(4096)) as typeof head;
    } catch (e) {
      if (e instanceof BackupError) throw e;
      throw new BackupError('BACKUP_INTERRUPTED', 'the ledger answered the backup request with something unreadable');
    }
    if (head.ok !== true) throw new BackupError('BACKUP_UNAVAILABLE', `the serving ledger refused the backup: ${String(head.error ?? 'no reason given').slice(0, 300)}`);
  } catch (e) {
    socket.destroy();
    throw e;
  }
  const chunks = (async function* () {
    try {
      let count = 0;
      for (;;) {
        const chunk: Array<[Uint8Array, Uint8Array]> = [];
        for (let bytes = 0; bytes < 1 << 20 && chunk.length < 4096; ) {
          const head = await reader.take(8);
          const kl = head.readUInt32BE(0);
          const vl = head.readUInt32BE(4);
          if (kl === 0) {
            if (vl !== count) throw new BackupError('BACKUP_INTERRUPTED', `the ledger sent ${count} records but says it sent ${vl}`);
            if (chunk.length > 0) yield chunk;
            return;
          }
          if (kl > 1 << 16 || vl > 1 << 28) throw new BackupError('BACKUP_INTERRUPTED', 'the ledger sent a malformed snapshot record');
          chunk.push([await reader.take(kl), await reader.take(vl)]);
          bytes += kl + vl;
          count++;
        }
        yield chunk;
      }
    } finally {
      socket.destroy();
    }
  })();
  return { chunks, close: () => socket.destroy() };
}

// ---------------------------------------------------------------------------------------------
// Taking a backup.

export interface BackupResult {
  readonly out: string;
  readonly manifest: BackupManifest;
}

async function isEmptyOrAbsent(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
}

/** Writes a new file holding `bytes`, with `mode` from the first byte, and syncs it. */
async function writeNew(path: string, bytes: Uint8Array | string, mode: number): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(path, mode);
}

/** A fresh temporary directory (0700) beside `target`, so that renaming it into place is atomic. */
async function siblingTemp(target: string, what: string): Promise<string> {
  const parent = dirname(target);
  if (!(await stat(parent).catch(() => undefined))?.isDirectory()) throw new BackupError('TARGET_PARENT_MISSING', `${parent} does not exist; create it first`);
  return mkdtemp(join(parent, `.${basename(target)}.${what}-`));
}

/** Writes the chunks into a new LevelDB at `location`; returns how many records. */
async function writeCopy(location: string, source: AsyncIterable<Array<[Uint8Array, Uint8Array]>>): Promise<number> {
  const db = new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view', errorIfExists: true });
  await db.open();
  let count = 0;
  try {
    let ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = [];
    let bytes = 0;
    for await (const chunk of source) {
      for (const [key, value] of chunk) {
        ops.push({ type: 'put', key, value });
        bytes += key.length + value.length;
        count++;
      }
      if (bytes >= 4 * 1024 * 1024) {
        await db.batch(ops);
        ops = [];
        bytes = 0;
      }
    }
    // The last write syncs the log, and with it every write before it.
    await db.batch(ops, { sync: true });
  } finally {
    await db.close();
  }
  return count;
}

/** The tree a (closed) LevelDB copy holds, its checkpoint verified with the ledger's key. */
async function treeOf(dbPath: string, config: LedgerConfig): Promise<{ size: number; root: string; checkpoint: string }> {
  const store = await LevelLogStore.open(dbPath);
  try {
    const tree = await store.readTree();
    if (!tree) throw new BackupError('BACKUP_SOURCE_INVALID', 'the ledger holds no tree yet (it has never been opened); serve it once first');
    const cp = openCheckpoint(tree.checkpoint, ed25519NoteVerifier(config.origin, createPublicKey(config.logPublicKey)));
    const root = Buffer.from(tree.state.root).toString('base64');
    if (cp.size !== tree.state.size || Buffer.from(cp.root).toString('base64') !== root) throw new BackupError('BACKUP_INVALID', 'the copied checkpoint does not commit the copied tree');
    return { size: tree.state.size, root, checkpoint: tree.checkpoint };
  } finally {
    await store.close();
  }
}

/**
 * Copies the ledger in `dataDir` into the new directory `out`: from the serving ledger through
 * its socket, or, when none serves it, from the store directly.
 */
export async function takeBackup(options: { data: string; out: string; withoutKeys?: boolean; now?: () => Date }): Promise<BackupResult> {
  const data = resolve(options.data);
  const out = resolve(options.out);
  const dd = await loadDataDir(data);
  if (out === data || out.startsWith(`${data}/`)) throw new BackupError('BACKUP_TARGET_NOT_EMPTY', `--out ${out} is inside the data directory; write the backup elsewhere`);
  if (!(await isEmptyOrAbsent(out))) throw new BackupError('BACKUP_TARGET_NOT_EMPTY', `${out} exists and is not empty; name a new directory for the backup`);
  const tmp = await siblingTemp(out, 'partial');
  try {
    const remote = await requestSnapshot(data);
    const live = remote !== undefined;
    let source = remote?.chunks;
    let direct: LevelLogStore | undefined;
    if (!source) {
      // Never create a store where there is none: a backup changes nothing in the source.
      if (!(await stat(join(dd.dbPath, 'CURRENT')).catch(() => undefined))) throw new BackupError('BACKUP_SOURCE_INVALID', `${data} has no ledger database (db/)`);
      try {
        direct = await LevelLogStore.open(dd.dbPath);
      } catch (e) {
        if (e instanceof StoreError && e.code === 'STORE_UNAVAILABLE' && /in use/.test(e.message)) {
          const why = socketPathFits(join(data, BACKUP_SOCKET)) ? 'a ledger started by an older pedigree?' : 'the directory\'s path is too long for its backup socket';
          throw new BackupError('BACKUP_UNAVAILABLE', `the ledger database in ${data} is in use by a process that does not answer on ${BACKUP_SOCKET} (${why}); stop it and back up again${socketPathFits(join(data, BACKUP_SOCKET)) ? ', or restart it with this version' : ''}`);
        }
        throw e;
      }
      source = direct.snapshot();
    }
    let records: number;
    try {
      records = await writeCopy(join(tmp, 'db'), source);
    } finally {
      remote?.close();
      await direct?.close();
    }
    const tree = await treeOf(join(tmp, 'db'), dd.config);
    for (const f of PUBLIC_FILES) {
      const bytes = await readFile(join(data, f)).catch(() => undefined);
      if (bytes) await writeNew(join(tmp, f), bytes, 0o644);
    }
    const keys: string[] = [];
    if (!options.withoutKeys) {
      for (const f of KEY_FILES) {
        const bytes = await readFile(join(data, f)).catch(() => undefined);
        if (!bytes) continue;
        await writeNew(join(tmp, f), bytes, 0o600);
        keys.push(f);
      }
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      createdAt: (options.now?.() ?? new Date()).toISOString(),
      origin: dd.config.origin,
      treeSize: tree.size,
      root: tree.root,
      checkpoint: tree.checkpoint,
      keys,
      live,
      records,
    };
    await writeNew(join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
    await chmod(tmp, 0o700);
    await moveIntoPlace(tmp, out, 'BACKUP_TARGET_NOT_EMPTY');
    return { out, manifest };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Renames the finished temporary directory onto `target` (absent, or an empty directory). */
async function moveIntoPlace(tmp: string, target: string, code: 'BACKUP_TARGET_NOT_EMPTY' | 'RESTORE_TARGET_NOT_EMPTY'): Promise<void> {
  try {
    await rename(tmp, target);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code;
    if (why === 'ENOTEMPTY' || why === 'EEXIST' || why === 'ENOTDIR') throw new BackupError(code, `${target} is no longer empty; nothing was written there`);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Restoring one.

export interface RestoreResult {
  readonly data: string;
  readonly manifest: BackupManifest;
  readonly entries: number;
  readonly tiles: number;
  readonly indexKeys: number;
  readonly keys: string[];
}

async function readManifest(from: string): Promise<BackupManifest> {
  let m: Partial<BackupManifest>;
  try {
    m = JSON.parse(await readFile(join(from, MANIFEST), 'utf8')) as Partial<BackupManifest>;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new BackupError('BACKUP_INVALID', missing ? `${from} is not a pedigree backup (it has no ${MANIFEST})` : `${join(from, MANIFEST)} is unreadable`);
  }
  if (m.format !== BACKUP_FORMAT || !Number.isSafeInteger(m.treeSize) || typeof m.root !== 'string' || !Array.isArray(m.keys)) {
    throw new BackupError('BACKUP_INVALID', `${join(from, MANIFEST)} is not a ${BACKUP_FORMAT} manifest`);
  }
  return m as BackupManifest;
}

/**
 * Restores the backup in `from` into `data` (absent, or an empty directory), audits the copy as
 * `pedigree audit` does, and only then puts it in place. `keys`: where log.key and admin.key are,
 * for a backup made without them.
 */
export async function restoreBackup(options: { from: string; data: string; keys?: string }): Promise<RestoreResult> {
  const from = resolve(options.from);
  const data = resolve(options.data);
  const manifest = await readManifest(from);
  if (!(await isEmptyOrAbsent(data))) {
    const ledger = await stat(join(data, 'ledger.json')).catch(() => undefined);
    throw new BackupError('RESTORE_TARGET_NOT_EMPTY', ledger ? `${data} already holds a ledger; restore into a new directory` : `${data} is not empty; restore into a new or empty directory`);
  }
  if (manifest.keys.length > 0 && options.keys !== undefined) throw new BackupError('BACKUP_INVALID', `this backup holds its keys (${manifest.keys.join(', ')}); --keys is only for a backup made with --without-keys`);
  const keyDir = manifest.keys.length > 0 ? from : options.keys === undefined ? undefined : resolve(options.keys);
  if (!keyDir) throw new BackupError('BACKUP_NO_KEYS', 'this backup was made without its keys: give --keys DIR, the directory holding the ledger\'s log.key (and admin.key)');
  if (!(await stat(join(from, 'db', 'CURRENT')).catch(() => undefined))) throw new BackupError('BACKUP_INVALID', `${from} has no database (db/)`);

  const tmp = await siblingTemp(data, 'restoring');
  try {
    for (const f of PUBLIC_FILES) {
      const bytes = await readFile(join(from, f)).catch(() => undefined);
      if (bytes) await writeNew(join(tmp, f), bytes, 0o644);
      else if (f === 'ledger.json') throw new BackupError('BACKUP_INVALID', `${from} has no ledger.json`);
    }
    const keys: string[] = [];
    for (const f of KEY_FILES) {
      const bytes = await readFile(join(keyDir, f)).catch(() => undefined);
      if (!bytes) {
        if (f === 'log.key') throw new BackupError('BACKUP_NO_KEYS', `${join(keyDir, f)} is missing: the restored ledger could not sign checkpoints`);
        continue;
      }
      await writeNew(join(tmp, f), bytes, 0o600);
      keys.push(f);
    }
    await cp(join(from, 'db'), join(tmp, 'db'), { recursive: true, errorOnExist: true, force: false });
    // The same checks as opening it: ledger.json readable, log.key the ledger's key.
    const dd = await loadDataDir(tmp).catch((e: Error) => {
      throw new BackupError('BACKUP_INVALID', `the backup's configuration or keys do not fit together: ${e.message.replaceAll(tmp, data)}`, { cause: e });
    });
    if (keys.includes('admin.key') && publicPem(await readPrivateKey(join(tmp, 'admin.key'))) !== dd.config.adminPublicKey) {
      throw new BackupError('BACKUP_INVALID', `${join(keyDir, 'admin.key')} is not the administrator key in ledger.json`);
    }
    if (dd.config.origin !== manifest.origin) throw new BackupError('BACKUP_INVALID', `the backup's manifest names origin ${manifest.origin} but its ledger.json ${dd.config.origin}`);
    const store = await LevelLogStore.open(dd.dbPath);
    let audit;
    let tree;
    try {
      audit = await auditStore(store, dd.config.origin, dd.config.logPublicKey, dd.config.adminPublicKey);
      tree = await store.readTree();
    } finally {
      await store.close();
    }
    if (audit.problem) {
      const err = new BackupError('RESTORE_AUDIT_FAILED', `the restored copy is inconsistent at ${audit.problem.where}: ${audit.problem.message} (${audit.problem.kind}); nothing was restored`);
      err.problem = audit.problem;
      throw err;
    }
    const root = tree ? Buffer.from(tree.state.root).toString('base64') : '';
    if (!tree || tree.state.size !== manifest.treeSize || root !== manifest.root) {
      throw new BackupError('RESTORE_AUDIT_FAILED', `the backup's database holds a tree of size ${tree?.state.size ?? 0}, not the size ${manifest.treeSize} and root its manifest names; nothing was restored`);
    }
    // LevelDB's lock file and logs from the audit's opening stay: they are the database's own.
    await chmod(tmp, 0o700);
    await moveIntoPlace(tmp, data, 'RESTORE_TARGET_NOT_EMPTY');
    return { data, manifest, entries: audit.entries, tiles: audit.tiles, indexKeys: audit.keys, keys };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
