/**
 * Tree integration in the style of a tiled log: given the current tree state (size and its
 * compact range) and new leaf hashes, compute the new state and every tile the new leaves
 * touch. Tile reads are a parameter, so this file does no I/O of its own.
 */
import { concat } from './bytes.js';
import { EMPTY_ROOT, HASH_SIZE, nodeHash } from './hash.js';
import { LogError } from './errors.js';
import { TILE_HEIGHT, TILE_WIDTH, nodeTileRef, type NodeTileRef } from './tile.js';
import type { LeafRange } from './proof.js';

export interface TreeState {
  readonly size: number;
  readonly root: Uint8Array;
  /**
   * The compact range of [0, size): roots of the perfect subtrees the binary digits of `size`
   * describe, largest first. At most 53 hashes.
   */
  readonly frontier: readonly Uint8Array[];
}

export const EMPTY_TREE: TreeState = { size: 0, root: EMPTY_ROOT, frontier: [] };

export function rootOfFrontier(frontier: readonly Uint8Array[]): Uint8Array {
  if (frontier.length === 0) return EMPTY_ROOT;
  let r = frontier[frontier.length - 1]!;
  for (let i = frontier.length - 2; i >= 0; i--) r = nodeHash(frontier[i]!, r);
  return r;
}

/**
 * Appends one leaf hash to the compact range of a tree of `size` leaves, in place (no tiles:
 * for followers of a log, such as a monitor, that need only its root).
 */
export function appendToFrontier(frontier: Uint8Array[], size: number, leaf: Uint8Array): void {
  let h = leaf;
  for (let s = size; s % 2 === 1; s = Math.floor(s / 2)) h = nodeHash(frontier.pop()!, h);
  frontier.push(h);
}

/** A tile's bytes: concatenated 32-byte hashes (or, for entry bundles, length-prefixed entries). */
export type TileKey = `${number}/${number}`;

export function tileKey(level: number, index: number): TileKey {
  return `${level}/${index}`;
}

export type TileReader = (level: number, index: number) => Promise<Uint8Array | undefined>;

export interface Integration {
  readonly state: TreeState;
  /** Every hash tile that changed, with its whole new content. */
  readonly tiles: Map<TileKey, Uint8Array>;
}

/**
 * Appends `leaves` to the tree described by `state`. Only the rightmost (partial) tile of each
 * level can change, so at most one read per level is made, whatever the batch size.
 */
export async function integrate(
  state: TreeState,
  leaves: readonly Uint8Array[],
  readTile: TileReader,
): Promise<Integration> {
  const frontier = state.frontier.map((h) => h);
  // Heights of the frontier's subtrees, largest first, mirror the set bits of size.
  const heights: number[] = [];
  for (let h = 52; h >= 0; h--) if (Math.floor(state.size / 2 ** h) % 2 === 1) heights.push(h);
  if (heights.length !== frontier.length) {
    throw new LogError('INVALID_ARGUMENT', 'tree state frontier does not match its size');
  }
  const tiles = new Map<TileKey, Uint8Array>();
  const pending = new Map<TileKey, { hashes: Uint8Array[] }>();

  const place = async (height: number, index: number, hash: Uint8Array): Promise<void> => {
    if (height % TILE_HEIGHT !== 0) return;
    const level = height / TILE_HEIGHT;
    const tileIndex = Math.floor(index / TILE_WIDTH);
    const key = tileKey(level, tileIndex);
    let tile = pending.get(key);
    if (!tile) {
      const existing = await readTile(level, tileIndex);
      const hashes: Uint8Array[] = [];
      if (existing) for (let o = 0; o < existing.length; o += HASH_SIZE) hashes.push(existing.subarray(o, o + HASH_SIZE));
      tile = { hashes };
      pending.set(key, tile);
    }
    const position = index % TILE_WIDTH;
    if (tile.hashes.length !== position) {
      throw new LogError('INVALID_ARGUMENT', `tile ${key} holds ${tile.hashes.length} hashes, expected ${position}`);
    }
    tile.hashes.push(hash);
  };

  let size = state.size;
  for (const leaf of leaves) {
    let hash = leaf;
    let height = 0;
    await place(0, size, hash);
    while (heights.length > 0 && heights[heights.length - 1] === height) {
      heights.pop();
      hash = nodeHash(frontier.pop()!, hash);
      height++;
      await place(height, Math.floor(size / 2 ** height), hash);
    }
    frontier.push(hash);
    heights.push(height);
    size++;
  }
  for (const [key, t] of pending) tiles.set(key, concat(...t.hashes));
  return { state: { size, root: rootOfFrontier(frontier), frontier }, tiles };
}

/** The perfect subtrees (height, index) whose right fold is the MTH of an aligned range. */
export function rangeNodes(range: LeafRange): Array<{ height: number; index: number }> {
  const out: Array<{ height: number; index: number }> = [];
  let start = range.start;
  while (start < range.end) {
    let height = 0;
    while (start % 2 ** (height + 1) === 0 && start + 2 ** (height + 1) <= range.end) height++;
    out.push({ height, index: start / 2 ** height });
    start += 2 ** height;
  }
  return out;
}

/**
 * Every perfect subtree hash inside a tile, level by level (level k holds the roots of runs of
 * 2^k hashes). Memoised per tile object, so a cached full tile is hashed up once, not per proof.
 */
const tileLevelsMemo = new WeakMap<Uint8Array, Uint8Array[][]>();

function tileLevels(tile: Uint8Array): Uint8Array[][] {
  let levels = tileLevelsMemo.get(tile);
  if (!levels) {
    const base: Uint8Array[] = [];
    for (let o = 0; o + HASH_SIZE <= tile.length; o += HASH_SIZE) base.push(tile.subarray(o, o + HASH_SIZE));
    levels = [base];
    for (let prev = base; prev.length >= 2; ) {
      const next: Uint8Array[] = [];
      for (let i = 0; i + 1 < prev.length; i += 2) next.push(nodeHash(prev[i]!, prev[i + 1]!));
      levels.push(next);
      prev = next;
    }
    tileLevelsMemo.set(tile, levels);
  }
  return levels;
}

/** Hash of a perfect node from the tile that holds its descendants at a tile boundary height. */
export function nodeHashFromTile(ref: NodeTileRef, tile: Uint8Array): Uint8Array {
  if (tile.length < (ref.offset + ref.count) * HASH_SIZE) {
    throw new LogError('INVALID_ARGUMENT', 'tile is too short for the requested node');
  }
  const k = Math.log2(ref.count);
  return tileLevels(tile)[k]![ref.offset / ref.count]!;
}

/** MTH of a proof range, reading each needed tile once through `readTile`. */
export async function rangeHash(range: LeafRange, readTile: TileReader): Promise<Uint8Array> {
  const nodes = rangeNodes(range);
  const hashes: Uint8Array[] = [];
  for (const n of nodes) {
    const ref = nodeTileRef(n.height, n.index);
    const tile = await readTile(ref.level, ref.index);
    if (!tile) throw new LogError('INVALID_ARGUMENT', `tile ${ref.level}/${ref.index} is missing`);
    hashes.push(nodeHashFromTile(ref, tile));
  }
  return rootOfFrontier(hashes);
}
