/**
 * Fetches every tile of a served log over real HTTP and recomputes the checkpoint's root, at
 * sizes around tile boundaries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HASH_SIZE, TILE_WIDTH, leafHash, nodesAtLevel, openCheckpoint, rootFromLeafHashes, tilePath } from '../../src/log/index.js';
import type { RunningServer } from '../../src/server/http.js';
import { startNode, type TestNode } from '../helpers.js';

let t: TestNode;
let server: RunningServer;

beforeAll(async () => {
  t = await startNode({ sequencer: { maxBatch: 4096, maxDelayMs: 2 } });
  server = t.server;
});

afterAll(async () => {
  await t.cleanup();
});

async function get(path: string): Promise<Response> {
  return fetch(`${server.url}/${path}`);
}

async function bytes(path: string): Promise<Buffer> {
  const res = await get(path);
  expect(res.status, path).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/octet-stream');
  return Buffer.from(await res.arrayBuffer());
}

function splitHashes(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < b.length; o += HASH_SIZE) out.push(b.subarray(o, o + HASH_SIZE));
  return out;
}

function splitEntries(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let o = 0;
  while (o < b.length) {
    const n = b.readUInt16BE(o);
    out.push(b.subarray(o + 2, o + 2 + n));
    o += 2 + n;
  }
  return out;
}

/** A tiles client in miniature: reads everything the checkpoint covers and checks it hangs together. */
async function recomputeFromTiles(): Promise<{ size: number; root: Uint8Array; checkpointRoot: Uint8Array }> {
  const res = await get('checkpoint');
  expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  const cp = openCheckpoint(await res.text(), t.verifier);
  const size = cp.size;
  const levels: Buffer[][] = [];
  for (let level = 0; nodesAtLevel(size, level) > 0; level++) {
    const count = nodesAtLevel(size, level);
    const hashes: Buffer[] = [];
    for (let n = 0; n * TILE_WIDTH < count; n++) {
      const width = Math.min(TILE_WIDTH, count - n * TILE_WIDTH);
      const id = width === TILE_WIDTH ? { level, index: n } : { level, index: n, width };
      const tile = await bytes(tilePath(id));
      expect(tile.length).toBe(width * HASH_SIZE);
      hashes.push(...splitHashes(tile));
      if (level === 0) {
        const bundle = await bytes(tilePath({ ...id, level: 'entries' }));
        const entries = splitEntries(bundle);
        expect(entries).toHaveLength(width);
        entries.forEach((e, i) => expect(Buffer.from(leafHash(e))).toEqual(hashes[n * TILE_WIDTH + i]));
      }
    }
    levels.push(hashes);
  }
  // Each hash at level L+1 is the root of 256 consecutive hashes at level L.
  for (let level = 1; level < levels.length; level++) {
    levels[level]!.forEach((h, i) => {
      expect(Buffer.from(rootFromLeafHashes(levels[level - 1]!.slice(i * TILE_WIDTH, (i + 1) * TILE_WIDTH)))).toEqual(h);
    });
  }
  return { size, root: rootFromLeafHashes(levels[0] ?? []), checkpointRoot: cp.root };
}

async function growTo(size: number): Promise<void> {
  // Waves stay under the sequencer's pushback limit, as a well-behaved client would.
  while (t.ledger.size < size) {
    const from = t.ledger.size;
    const n = Math.min(8192, size - from);
    await Promise.all(Array.from({ length: n }, (_, i) => t.ledger.append({ data: Buffer.from(`tile-entry-${from + i}`) })));
  }
  expect(t.ledger.size).toBe(size);
}

describe('C2SP tiles over HTTP', () => {
  for (const size of [0, 1, 255, 256, 257, 65_537]) {
    it(`recompute the checkpoint root from every tile at size ${size}`, async () => {
      await growTo(size);
      const r = await recomputeFromTiles();
      expect(r.size).toBe(size);
      expect(Buffer.from(r.root)).toEqual(Buffer.from(r.checkpointRoot));
    }, 180_000);
  }

  it('serves full tiles as immutable and partial tiles briefly cacheable', async () => {
    const full = await get('tile/0/000');
    expect(full.headers.get('cache-control')).toContain('immutable');
    const partial = await get('tile/0/256.p/1');
    expect(partial.status).toBe(200);
    expect(partial.headers.get('cache-control')).not.toContain('immutable');
  });

  it('serves a narrower prefix of a tile and 404s past the tree', async () => {
    const full = await bytes('tile/0/000');
    expect(await bytes('tile/0/000.p/3')).toEqual(full.subarray(0, 3 * HASH_SIZE));
    expect((await get('tile/0/256.p/2')).status).toBe(404);
    expect((await get('tile/0/257')).status).toBe(404);
    expect((await get('tile/entries/256')).status).toBe(404);
    expect((await get('tile/3/000')).status).toBe(404);
    expect((await get('tile/2/000')).status).toBe(404);
    expect((await get('tile/2/000.p/1')).status).toBe(200);
  });

  it('answers malformed tile paths with 400 and other methods with 405', async () => {
    for (const p of ['tile/0/1', 'tile/0/000.p/0', 'tile/64/000', 'tile/0/x000/001', 'tile/0/000.p/999']) {
      expect((await get(p)).status, p).toBe(400);
    }
    expect((await fetch(`${server.url}/checkpoint`, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await get('nothing-here')).status).toBe(404);
    expect((await get('%E0%A4%A')).status).toBe(404);
    expect((await get('..%2F..%2Fpackage.json')).status).toBe(404);
    expect((await get('assets/..%2F..%2F..%2Fpackage.json')).status).toBe(404);
  });

  it('reports health', async () => {
    const res = await get('healthz');
    expect(await res.json()).toMatchObject({ status: 'ok', treeSize: 65_537 });
  });
});
