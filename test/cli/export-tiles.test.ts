/**
 * `pedigree export-tiles`: a stopped ledger with a few hundred real attestations written out as
 * static files, served by a plain file server (node:http, none of the ledger's code), checked as
 * a client would check it (checkpoint signature, root recomputed from the static tiles, every
 * file byte for byte what `pedigree serve` answers at the same path), followed by
 * `pedigree monitor --once [--audit]`; then updated with --incremental (only new files written,
 * the old ones untouched, the new tree consistent with the old one); refused while the ledger
 * runs, and into a folder holding another log's export or a checkpoint it is not consistent with
 * (nothing changed).
 */
import { createReadStream } from 'node:fs';
import { cp as copyDir, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, relative, resolve, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type OpenedLedger } from '../../src/app.js';
import { signStatement } from '../../src/attest/sign.js';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import { readPrivateKey } from '../../src/keys.js';
import {
  TILE_WIDTH,
  consistencyRanges,
  openCheckpoint,
  parseCheckpoint,
  parseNote,
  rangeHash,
  signCheckpoint,
  tilePath,
  tileWidth,
  verifyConsistency,
  type TileReader,
} from '../../src/log/index.js';
import { startServer, type RunningServer } from '../../src/server/http.js';
import { componentStatement, party, registration, type Party } from '../attest/fixtures.js';
import { ORIGIN, startNode, tempDir, type TestNode } from '../helpers.js';
import { runPedigree } from './run.js';

let node: TestNode;
let supplier: Party;
let work: { path: string; remove: () => Promise<void> };
let out: string;
const servers: Server[] = [];

/** Signed component statements from the supplier, `count` of them, each about its own serial. */
async function submitComponents(attestations: OpenedLedger['attestations'], from: number, count: number): Promise<void> {
  for (let start = from; start < from + count; start += 100) {
    const n = Math.min(100, from + count - start);
    const bundles = await Promise.all(Array.from({ length: n }, (_, i) => signStatement(componentStatement(supplier.id, 'PS-1', [`S${start + i}`]), supplier.privateKey)));
    const results = await attestations.submitMany(bundles);
    for (const r of results) expect('error' in r ? r.error : 'ok').toBe('ok');
  }
}

/** A plain static file server: GET a path, get the file under `root` (no index, no ledger code). */
async function serveFolder(root: string): Promise<string> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = resolve(root, `.${path}`);
    if (req.method !== 'GET' || !file.startsWith(root + sep)) return res.writeHead(404).end();
    stat(file).then(
      (s) => {
        if (!s.isFile()) return res.writeHead(404).end();
        res.writeHead(200, { 'Content-Length': String(s.size) });
        createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Every file below `dir` with its bytes and mtime. */
async function snapshot(dir: string): Promise<Map<string, { bytes: Buffer; mtimeMs: number }>> {
  const files = new Map<string, { bytes: Buffer; mtimeMs: number }>();
  for (const name of await readdir(dir, { recursive: true })) {
    const path = join(dir, name);
    const s = await stat(path);
    if (s.isFile()) files.set(relative(dir, path).split(sep).join('/'), { bytes: await readFile(path), mtimeMs: s.mtimeMs });
  }
  return files;
}

/** Hash tiles read over HTTP, at the width a tree of `size` has them. */
function httpTiles(base: string, size: number): TileReader {
  return async (level, index) => {
    const w = tileWidth(size, level, index);
    const res = await fetch(`${base}/${tilePath(w === TILE_WIDTH ? { level, index } : { level, index, width: w })}`);
    return res.ok ? new Uint8Array(await res.arrayBuffer()) : undefined;
  };
}

async function exportTiles(data: string, to: string, ...more: string[]) {
  const r = await runPedigree(work.path, ['export-tiles', '--data', data, '--out', to, '--json', ...more]);
  return { ...r, body: JSON.parse(r.stdout || 'null') as Record<string, any> };
}

/** Opens the stopped ledger again (and, if asked, serves it) to add entries or compare. */
async function reopen<T>(fn: (o: OpenedLedger, url?: string) => Promise<T>, serve = false): Promise<T> {
  const opened = await openLedger(node.dir);
  let server: RunningServer | undefined;
  try {
    if (serve) server = await startServer({ ledger: opened.ledger, attestations: opened.attestations, devices: opened.devices, logError: () => undefined });
    return await fn(opened, server?.url);
  } finally {
    await server?.close();
    await opened.ledger.close();
  }
}

beforeAll(async () => {
  work = await tempDir('pedigree-export-');
  out = join(work.path, 'static');
  node = await startNode();
  supplier = party('export-supplier');
  const [reg] = await node.attestations.submitMany([await signStatement(registration(supplier, ['supplier']), node.adminKey)]);
  expect(reg && 'record' in reg).toBe(true);
  await submitComponents(node.attestations, 0, 299);
  expect(node.ledger.size).toBe(300);
  // A stopped ledger: the export opens its store.
  await node.server.close();
  await node.ledger.close();
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await node.cleanup();
  await work.remove();
});

describe('pedigree export-tiles', () => {
  let staticUrl: string;

  it('writes the log as static files that a plain file server serves and a client verifies', async () => {
    const r = await exportTiles(node.dir, out);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    // 300 entries: level 0 has full tile 0 and partial 1.p/44; level 1 has 000.p/1.
    expect(r.body).toMatchObject({ origin: ORIGIN, treeSize: 300, previousSize: 0, written: { hashTiles: 3, entryBundles: 2, payloadTiles: 2, partial: 4, checkpoint: 1, trustedRoot: 1, total: 9 } });
    const files = [...(await snapshot(out)).keys()].sort();
    expect(files).toEqual(['checkpoint', 'tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1', 'tile/entries/000', 'tile/entries/001.p/44', 'trusted_root.json', 'vindex/payloads/000', 'vindex/payloads/001.p/44'].sort());

    staticUrl = await serveFolder(out);
    const note = await (await fetch(`${staticUrl}/checkpoint`)).text();
    const cp = openCheckpoint(note, node.verifier);
    expect(cp.size).toBe(300);
    expect(Buffer.from(cp.root).toString('base64')).toBe(r.body.root);
    // The root from the static hash tiles alone.
    const root = await rangeHash({ start: 0, end: cp.size }, httpTiles(staticUrl, cp.size));
    expect(Buffer.from(root).equals(Buffer.from(cp.root))).toBe(true);
    // The entry bundles hold 300 length-prefixed entries.
    const bundle = Buffer.from(await (await fetch(`${staticUrl}/tile/entries/001.p/44`)).arrayBuffer());
    let count = 0;
    for (let at = 0; at < bundle.length; count++) at += 2 + bundle.readUInt16BE(at);
    expect(count).toBe(44);
  });

  it('writes each file byte for byte as pedigree serve answers the same path, and refuses to run while the ledger does', async () => {
    const exported = await snapshot(out);
    await reopen(async (_o, url) => {
      for (const [path, { bytes }] of exported) {
        const res = await fetch(`${url}/${path}`);
        expect(res.status, path).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(bytes), path).toBe(true);
      }
      // The ledger holds its store: the export says so and writes nothing.
      const busy = join(work.path, 'busy');
      const r = await exportTiles(node.dir, busy);
      expect(r.code).toBe(3);
      expect(r.body.error.code).toBe('STORE_LOCKED');
      expect(r.body.error.message).toMatch(/in use by another process: the ledger is running; stop it first/);
      await expect(stat(busy)).rejects.toThrow();
    }, true);
  });

  it('is followed by pedigree monitor --once and --audit over the static URL', async () => {
    const root = join(out, 'trusted_root.json');
    const plain = await runPedigree(work.path, ['monitor', '--once', '--server', staticUrl, '--trusted-root', root, '--state', 'plain.json']);
    expect(plain.code, plain.stderr + plain.stdout).toBe(0);
    expect(plain.stdout).toMatch(`OK ${ORIGIN}: 300 entries (first checkpoint recorded)`);
    const audit = await runPedigree(work.path, ['monitor', '--once', '--audit', '--server', staticUrl, '--trusted-root', root, '--state', 'audit.json']);
    expect(audit.code, audit.stderr + audit.stdout).toBe(0);
    expect(audit.stdout).toMatch(/index audited: 300 new entries read, \d+ keys, root matches/);
  });

  it('--incremental writes only what is new, the checkpoint last, and the new tree is consistent with the old', async () => {
    const before = await snapshot(out);
    const oldCp = parseCheckpoint(parseNote(before.get('checkpoint')!.bytes.toString()).text);
    await reopen(async (o) => submitComponents(o.attestations, 299, 251));
    const r = await exportTiles(node.dir, out, '--incremental');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    // 551 entries: level 0 gains full tile 1 and partial 2.p/39; level 1 becomes 000.p/2.
    expect(r.body).toMatchObject({ treeSize: 551, previousSize: 300, written: { hashTiles: 3, entryBundles: 2, payloadTiles: 2, partial: 4, checkpoint: 1, trustedRoot: 0, total: 8 } });
    const after = await snapshot(out);
    const added = [...after.keys()].filter((k) => !before.has(k)).sort();
    expect(added).toEqual(['tile/0/001', 'tile/0/002.p/39', 'tile/1/000.p/2', 'tile/entries/001', 'tile/entries/002.p/39', 'vindex/payloads/001', 'vindex/payloads/002.p/39'].sort());
    // Every file that was there is untouched (old partial tiles stay), but the checkpoint.
    for (const [path, was] of before) {
      const now = after.get(path)!;
      if (path === 'checkpoint') continue;
      expect(now.mtimeMs, path).toBe(was.mtimeMs);
      expect(now.bytes.equals(was.bytes), path).toBe(true);
    }
    // The checkpoint was written after every tile it needs.
    const newest = Math.max(...[...after].filter(([k]) => k !== 'checkpoint').map(([, v]) => v.mtimeMs));
    expect(after.get('checkpoint')!.mtimeMs).toBeGreaterThanOrEqual(newest);
    expect(readdirTmp(after)).toEqual([]);

    // A client with the old checkpoint proves the new one consistent from the static tiles.
    const cp = openCheckpoint(after.get('checkpoint')!.bytes.toString(), node.verifier);
    expect(cp.size).toBe(551);
    const read = httpTiles(staticUrl, cp.size);
    const proof = await Promise.all(consistencyRanges(oldCp.size, cp.size).map((x) => rangeHash(x, read)));
    expect(() => verifyConsistency(oldCp.size, cp.size, proof, oldCp.root, cp.root)).not.toThrow();
    expect(Buffer.from(await rangeHash({ start: 0, end: cp.size }, read)).equals(Buffer.from(cp.root))).toBe(true);
    const monitor = await runPedigree(work.path, ['monitor', '--once', '--audit', '--server', staticUrl, '--trusted-root', join(out, 'trusted_root.json'), '--state', 'audit-new.json']);
    expect(monitor.code, monitor.stderr + monitor.stdout).toBe(0);
    expect(monitor.stdout).toMatch(/551 entries \(first checkpoint recorded\); index audited: 551 new entries read/);
    // The monitors that saw size 300 follow to 551: the consistency proof from the static tiles
    // (no GraphQL there), the audit resuming where it stopped.
    for (const [state, audit] of [['plain.json', []], ['audit.json', ['--audit']]] as const) {
      const m = await runPedigree(work.path, ['monitor', '--once', ...audit, '--server', staticUrl, '--trusted-root', join(out, 'trusted_root.json'), '--state', state]);
      expect(m.code, m.stderr + m.stdout).toBe(0);
      expect(m.stdout).toMatch(`OK ${ORIGIN}: 300 -> 551 entries, consistent${audit.length ? '; index audited: 251 new entries read' : '\n'}`);
    }
    // A static copy whose tiles were rewritten under the same checkpoint is caught.
    const forged = join(work.path, 'forged');
    await copyDir(out, forged, { recursive: true });
    const tile = join(forged, 'tile/0/001');
    const bytes = await readFile(tile);
    bytes[0]! ^= 1;
    await writeFile(tile, bytes);
    const forgedUrl = await serveFolder(forged);
    await writeFile(join(work.path, 'at300.json'), JSON.stringify({ origin: ORIGIN, size: oldCp.size, root: Buffer.from(oldCp.root).toString('base64'), checkpoint: before.get('checkpoint')!.bytes.toString() }));
    const alarm = await runPedigree(work.path, ['monitor', '--once', '--server', forgedUrl, '--trusted-root', join(out, 'trusted_root.json'), '--state', 'at300.json']);
    expect(alarm.code, alarm.stderr + alarm.stdout).toBe(1);
    expect(alarm.stdout).toMatch(/ALERT size 551 is not consistent with size 300/);

    // Again with nothing new: nothing is written.
    const again = await exportTiles(node.dir, out, '--incremental');
    expect(again.code, again.stderr).toBe(0);
    expect(again.body.written.total).toBe(0);
    expect(again.body.unchanged).toBe(6);
    const text = await runPedigree(work.path, ['export-tiles', '--data', node.dir, '--out', out, '--incremental']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^exported ${ORIGIN}: 551 entries \\(the export held 551\\), root \\S+\n  wrote 0 files \\(0 partial tiles\\)`));
  });

  it('refuses another log’s export, a checkpoint this log is not consistent with, and a non-empty folder without --incremental, changing nothing', async () => {
    // Another ledger of the same name, with its own key.
    const other = await startNode();
    await other.server.close();
    await other.ledger.close();
    const otherOut = join(work.path, 'other');
    try {
      const o = await exportTiles(other.dir, otherOut);
      expect(o.code, o.stderr + o.stdout).toBe(0);
      const refusals: Array<[string, string[], string, RegExp]> = [
        [otherOut, ['--incremental'], 'EXPORT_REFUSED', /that this ledger's log key did not sign/],
        [otherOut, [], 'EXPORT_REFUSED', /is not empty/],
      ];
      // The same log's key, but a tree larger than the ledger's, and one whose root differs.
      const key = await readPrivateKey(join(node.dir, 'log.key'));
      const cur = parseCheckpoint(parseNote((await readFile(join(out, 'checkpoint'))).toString()).text);
      for (const [name, c, why] of [
        ['ahead', { ...cur, size: cur.size + 10 }, /more than this ledger's 551/],
        ['forked', { ...cur, size: 400, root: new Uint8Array(32).fill(7) }, /root is not this ledger's root at that size/],
      ] as const) {
        const dir = join(work.path, name);
        await copyDir(out, dir, { recursive: true });
        await writeFile(join(dir, 'checkpoint'), signCheckpoint(c, ed25519NoteSigner(ORIGIN, key)));
        refusals.push([dir, ['--incremental'], 'EXPORT_INCONSISTENT', why]);
      }
      const elsewhere = join(work.path, 'elsewhere');
      await mkdir(elsewhere);
      await writeFile(join(elsewhere, 'checkpoint'), 'another.example/log\n1\nAAAA\n');
      refusals.push([elsewhere, ['--incremental'], 'EXPORT_REFUSED', /an export of another log \("another.example\/log"/]);
      for (const [dir, flags, code, why] of refusals) {
        const was = await snapshot(dir);
        const r = await exportTiles(node.dir, dir, ...flags);
        expect(r.code, dir).toBe(3);
        expect(r.body.error.code, dir).toBe(code);
        expect(r.body.error.message, dir).toMatch(why);
        const now = await snapshot(dir);
        expect([...now.keys()].sort(), dir).toEqual([...was.keys()].sort());
        for (const [path, v] of was) {
          expect(now.get(path)!.mtimeMs, path).toBe(v.mtimeMs);
          expect(now.get(path)!.bytes.equals(v.bytes), path).toBe(true);
        }
      }
    } finally {
      await other.cleanup();
    }
  });
});

function readdirTmp(files: Map<string, unknown>): string[] {
  return [...files.keys()].filter((k) => k.endsWith('.tmp'));
}
