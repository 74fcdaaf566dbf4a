/**
 * `pedigree export-tiles --data DIR --out OUTDIR [--incremental]`: a stopped ledger written out as
 * static files for a CDN or an object store, in exactly the layout `pedigree serve` answers
 * (src/server/http.ts): `checkpoint`, hash tiles `tile/<L>/<N>[.p/<W>]`, entry bundles
 * `tile/entries/<N>[.p/<W>]`, the statements behind them `vindex/payloads/<N>[.p/<W>]` (what
 * `pedigree monitor --audit` reads) and `trusted_root.json`. The bytes come from the same Ledger
 * and AttestationService methods the server calls, and the paths from the project's tilePath.
 *
 * Only the partial tiles the current checkpoint needs are written (the last tile of each level);
 * full tiles never change. With --incremental, an export of the same log already in OUTDIR is
 * brought up to date: only tiles that are new since its checkpoint are written, partial ones
 * replaced by their wider successors (old partial tiles stay, as C2SP tlog-tiles allows), and the
 * checkpoint last, by rename, so a reader never sees a checkpoint whose tiles are missing. An
 * OUTDIR holding another log's export, or a checkpoint this log is not consistent with (another
 * origin or key, a larger tree, a different root), is refused before anything is written.
 * One tile is held in memory at a time.
 */
import { createPublicKey } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, writeFile, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadDataDir, logKeyHistory } from '../config/datadir.js';
import { ed25519NoteSigner, ed25519NoteVerifier, useNativeCrypto } from '../crypto/node.js';
import { Ledger } from '../ledger/ledger.js';
import { openAttestations, openPostgresStore } from '../app.js';
import { LevelLogStore } from '../store/level.js';
import { StoreError, type LogStore } from '../store/store.js';
import { TILE_WIDTH, bytesEqual, nodesAtLevel, openCheckpoint, parseCheckpoint, parseNote, tilePath, type Checkpoint, type TileId } from '../log/index.js';
import { CliError, printJson, terminalSafe } from './util.js';

export interface ExportOptions {
  data: string;
  /** A PostgreSQL store URL: the log is read from there, while its servers run. */
  store?: string;
  out: string;
  incremental?: boolean;
  json?: boolean;
}

export interface ExportSummary {
  origin: string;
  treeSize: number;
  /** Base64, as in the checkpoint. */
  root: string;
  /** The size of the export found in OUTDIR (0 for a new export). */
  previousSize: number;
  /** Files written, by kind; `partial` counts the partial ones among them. */
  written: { hashTiles: number; entryBundles: number; payloadTiles: number; partial: number; checkpoint: number; trustedRoot: number; total: number };
  /** Files already in place and left as they were (an incremental export). */
  unchanged: number;
}

/** Where the statements behind entry bundle N are served (http.ts). */
const PAYLOADS = 'vindex/payloads/';

/** The static-file path of a tile, as the server spells its URL (without the leading slash). */
export function exportPath(id: TileId, kind: 'hash' | 'entries' | 'payloads'): string {
  if (kind === 'hash') return tilePath(id);
  const entries = tilePath({ ...id, level: 'entries' });
  return kind === 'entries' ? entries : `${PAYLOADS}${entries.slice('tile/entries/'.length)}`;
}

/**
 * The tiles a tree of `size` has, level by level: its full tiles from `fromFull` on, and its last,
 * partial one (if any). Level 0 also has entry bundles and statement tiles, at the same indexes.
 */
function* tilesOf(size: number, previousSize: number): Generator<{ level: number; index: number; width?: number; isNew: boolean }> {
  for (let level = 0; nodesAtLevel(size, level) > 0; level++) {
    const nodes = nodesAtLevel(size, level);
    const full = Math.floor(nodes / TILE_WIDTH);
    const before = Math.floor(nodesAtLevel(previousSize, level) / TILE_WIDTH);
    for (let index = before; index < full; index++) yield { level, index, isNew: true };
    const width = nodes % TILE_WIDTH;
    // The same partial tile as the previous export's is already there (checked by the caller).
    if (width > 0) yield { level, index: full, width, isNew: nodesAtLevel(previousSize, level) !== nodes };
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

let tmpCounter = 0;
/** Writes a file whole or not at all: a temporary file beside it, then a rename over it. */
async function writeAtomic(path: string, body: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${path.slice(dirname(path).length + 1)}.${process.pid}.${tmpCounter++}.tmp`);
  try {
    await writeFile(tmp, body);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** What OUTDIR holds: nothing, an export with its checkpoint, or something else. */
async function inspectOut(out: string): Promise<{ empty: boolean; checkpoint?: string }> {
  let names: string[];
  try {
    const s = await stat(out);
    if (!s.isDirectory()) throw new CliError(`--out ${out} is not a directory`, undefined, 'EXPORT_REFUSED');
    names = await readdir(out);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { empty: true };
    throw e;
  }
  if (names.length === 0) return { empty: true };
  const checkpoint = await readFile(join(out, 'checkpoint'), 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  return { empty: false, ...(checkpoint !== undefined && { checkpoint }) };
}

export async function exportTiles(opts: { data: string; store?: string; out: string; incremental?: boolean }): Promise<ExportSummary> {
  useNativeCrypto();
  const dir = resolve(opts.data);
  const out = resolve(opts.out);
  const dataDir = await loadDataDir(dir);
  const origin = dataDir.config.origin;
  const verifiers = logKeyHistory(dataDir.config).map((t) => ed25519NoteVerifier(origin, createPublicKey(t.publicKey)));

  // Everything about OUTDIR is decided before the ledger is opened and before anything is written.
  const found = await inspectOut(out);
  if (!found.empty && !opts.incremental) {
    throw new CliError(`--out ${out} is not empty: give an empty or new directory, or --incremental to update an export of this log there`, undefined, 'EXPORT_REFUSED');
  }
  if (!found.empty && found.checkpoint === undefined) {
    throw new CliError(`--out ${out} holds no checkpoint, so it is not an export this command can update (an interrupted first export? remove it and export again)`, undefined, 'EXPORT_REFUSED');
  }
  let previous: Checkpoint | undefined;
  if (found.checkpoint !== undefined) {
    const firstLine = found.checkpoint.split('\n', 1)[0]!;
    if (firstLine !== origin) throw new CliError(`--out ${out} holds an export of another log (${JSON.stringify(terminalSafe(firstLine.slice(0, 100)))}, not ${origin}); nothing was written`, undefined, 'EXPORT_REFUSED');
    for (const v of verifiers) {
      try {
        previous = openCheckpoint(found.checkpoint, v);
        break;
      } catch {
        // another of the log's keys, perhaps
      }
    }
    if (!previous) throw new CliError(`--out ${out} holds a checkpoint for ${origin} that this ledger's log key did not sign: an export of another log of the same name; nothing was written`, undefined, 'EXPORT_REFUSED');
  }

  let store: LogStore;
  try {
    // On PostgreSQL the export reads beside the running servers (it writes nothing: read-only).
    store = opts.store !== undefined ? await openPostgresStore(dataDir, opts.store, { readOnly: true }) : await LevelLogStore.open(dataDir.dbPath);
  } catch (e) {
    if (opts.store !== undefined) throw e;
    if (e instanceof StoreError && e.code === 'STORE_UNAVAILABLE') {
      throw new CliError(`${e.message}: the ledger is running; stop it first, or export a copy of ${dir} (pedigree backup, then pedigree restore)`, undefined, 'STORE_LOCKED');
    }
    throw e;
  }
  let ledger: Ledger | undefined;
  try {
    // Opening a store that never held a tree would write its first checkpoint: refused instead.
    if ((await store.readTree()) === undefined) throw new CliError(`the ledger in ${dir} has never been started, so it has no checkpoint to export yet`, undefined, 'EXPORT_REFUSED');
    // No tile cache: every tile is read, written and let go (memory stays bounded for any size).
    const log = (ledger = await Ledger.open({ store, signer: ed25519NoteSigner(origin, dataDir.logKey), tileCacheSize: 0, indexCacheSize: 0 }));
    const attestations = await openAttestations(ledger, dataDir);
    const note = ledger.checkpoint;
    const current = parseCheckpoint(parseNote(note).text);
    const previousSize = previous?.size ?? 0;
    if (previous) {
      if (previous.size > current.size) {
        throw new CliError(`--out ${out} holds a checkpoint of ${previous.size} entries, more than this ledger's ${current.size}: it is not an earlier state of this log; nothing was written`, undefined, 'EXPORT_INCONSISTENT');
      }
      // The same history: the ledger's root at the exported size is the exported root.
      const rootThen = await ledger.rootAt(previous.size);
      if (!bytesEqual(rootThen, previous.root)) {
        throw new CliError(`--out ${out} holds a checkpoint of size ${previous.size} whose root is not this ledger's root at that size: not consistent with this log; nothing was written`, undefined, 'EXPORT_INCONSISTENT');
      }
    }

    const written = { hashTiles: 0, entryBundles: 0, payloadTiles: 0, partial: 0, checkpoint: 0, trustedRoot: 0, total: 0 };
    let unchanged = 0;
    const put = async (path: string, body: Uint8Array | undefined, kind: 'hashTiles' | 'entryBundles' | 'payloadTiles', partial: boolean): Promise<void> => {
      if (!body) throw new StoreError('STORE_CORRUPT', `the ledger has no ${path} for its own checkpoint`);
      await writeAtomic(join(out, path), body);
      written[kind]++;
      if (partial) written.partial++;
    };

    // The trusted root first (replaced when it changed: a key rotation adds a key).
    const trusted = JSON.stringify(attestations.trustedRoot());
    const trustedPath = join(out, 'trusted_root.json');
    if ((await readFile(trustedPath, 'utf8').catch(() => undefined)) === trusted) unchanged++;
    else {
      await writeAtomic(trustedPath, trusted);
      written.trustedRoot = 1;
    }

    for (const t of tilesOf(current.size, previousSize)) {
      const id: TileId = t.width === undefined ? { level: t.level, index: t.index } : { level: t.level, index: t.index, width: t.width };
      const partial = t.width !== undefined;
      const files: Array<[string, () => Promise<Uint8Array | undefined>, 'hashTiles' | 'entryBundles' | 'payloadTiles']> = [[exportPath(id, 'hash'), () => log.hashTile(t.level, t.index, t.width), 'hashTiles']];
      if (t.level === 0) {
        files.push([exportPath(id, 'entries'), () => log.entryBundle(t.index, t.width), 'entryBundles']);
        files.push([exportPath(id, 'payloads'), () => attestations.payloadTile(t.index, t.width), 'payloadTiles']);
      }
      for (const [path, read, kind] of files) {
        // A partial tile the previous export already had (the level did not grow) is kept if present.
        if (!t.isNew && (await exists(join(out, path)))) {
          unchanged++;
          continue;
        }
        await put(path, await read(), kind, partial);
      }
    }

    // The checkpoint last, whole: every tile it needs is in place before a reader can see it.
    if (found.checkpoint === note) unchanged++;
    else {
      await writeAtomic(join(out, 'checkpoint'), note);
      written.checkpoint = 1;
    }
    written.total = written.hashTiles + written.entryBundles + written.payloadTiles + written.checkpoint + written.trustedRoot;
    return { origin, treeSize: current.size, root: Buffer.from(current.root).toString('base64'), previousSize, written, unchanged };
  } finally {
    await (ledger ? ledger.close() : store.close());
  }
}

export async function exportTilesCommand(opts: ExportOptions): Promise<void> {
  const r = await exportTiles(opts);
  if (opts.json) return printJson(r);
  const w = r.written;
  const from = r.previousSize > 0 ? ` (the export held ${r.previousSize})` : '';
  process.stdout.write(
    `exported ${r.origin}: ${r.treeSize} entries${from}, root ${r.root}\n` +
      `  wrote ${w.total} files (${w.partial} partial tiles): ${w.hashTiles} hash tiles, ${w.entryBundles} entry bundles, ${w.payloadTiles} statement tiles, ` +
      `${w.checkpoint ? 'the checkpoint' : 'no checkpoint (unchanged)'}, ${w.trustedRoot ? 'trusted_root.json' : 'trusted_root.json unchanged'}; ${r.unchanged} checked and left as they were\n`,
  );
}
