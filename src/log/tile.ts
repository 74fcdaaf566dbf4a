/**
 * Tile coordinates and C2SP tlog-tiles path encoding.
 *
 * A tile at level L holds up to 256 consecutive hashes of the nodes at height 8·L; level 0
 * holds the leaf hashes. Entry bundles ("tile/entries/N") hold the entries whose leaf hashes
 * make up level-0 tile N.
 */
import { LogError } from './errors.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
/**
 * The highest level a tile path may name (C2SP tlog-tiles allows 0..63). A tree this ledger can
 * hold (fewer than 2^53 leaves) has tiles up to level 6; higher levels are well-formed paths to
 * tiles that do not exist (404), not malformed ones.
 */
export const MAX_LEVEL = 63;

export interface TileId {
  /** Hash tile level, or 'entries' for an entry bundle. */
  readonly level: number | 'entries';
  readonly index: number;
  /** Width of a partial tile (1..255); undefined for a full tile. */
  readonly width?: number;
}

/** Encodes N as 3-digit groups, all but the last prefixed with "x" (C2SP tlog-tiles). */
export function encodeTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new LogError('INVALID_ARGUMENT', 'tile index must be a non-negative integer');
  const groups: string[] = [];
  let rest = n;
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

export function tilePath(id: TileId): string {
  const level = id.level === 'entries' ? 'entries' : String(id.level);
  const width = id.width === undefined ? '' : `.p/${id.width}`;
  return `tile/${level}/${encodeTileIndex(id.index)}${width}`;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * Parses a request path below "tile/". Rejects every non-canonical spelling so that one tile
 * has exactly one URL (caches and clients then agree on identity).
 */
export function parseTilePath(path: string): TileId {
  const bad = (why: string) => new LogError('TILE_PATH_MALFORMED', `malformed tile path: ${why}`);
  if (path.length > 128) throw bad('too long');
  const parts = path.split('/');
  if (parts[0] !== 'tile' || parts.length < 3) throw bad('expected tile/<L>/<N>');
  const levelText = parts[1]!;
  let level: number | 'entries';
  if (levelText === 'entries') level = 'entries';
  else if (DECIMAL.test(levelText) && Number(levelText) <= MAX_LEVEL) level = Number(levelText);
  else throw bad(`level must be 0..${MAX_LEVEL} or "entries"`);

  let rest = parts.slice(2);
  let width: number | undefined;
  const last = rest[rest.length - 1]!;
  if (rest.length >= 2 && rest[rest.length - 2]!.endsWith('.p')) {
    if (!DECIMAL.test(last)) throw bad('width must be a decimal number');
    width = Number(last);
    if (width < 1 || width >= TILE_WIDTH) throw bad('partial width must be 1..255');
    rest = rest.slice(0, -1);
    rest[rest.length - 1] = rest[rest.length - 1]!.slice(0, -2);
  }
  if (rest.length > 6) throw bad('index too large');
  let index = 0;
  rest.forEach((group, i) => {
    const isLast = i === rest.length - 1;
    const digits = isLast ? group : group.startsWith('x') ? group.slice(1) : null;
    if (digits === null || !/^[0-9]{3}$/.test(digits)) throw bad('index groups must be x### ... ###');
    if (i === 0 && rest.length > 1 && digits === '000') throw bad('index has a leading zero group');
    index = index * 1000 + Number(digits);
  });
  if (!Number.isSafeInteger(index)) throw bad('index too large');
  return width === undefined ? { level, index } : { level, index, width };
}

/** Number of nodes at height 8·level in a tree of `size` leaves. */
export function nodesAtLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

/** Width of tile `index` at `level` in a tree of `size` (0 when it does not exist yet). */
export function tileWidth(size: number, level: number, index: number): number {
  const n = nodesAtLevel(size, level) - index * TILE_WIDTH;
  return Math.max(0, Math.min(TILE_WIDTH, n));
}

/** Where the hash of the perfect node (height, index) is found: a run of hashes in one tile. */
export interface NodeTileRef {
  readonly level: number;
  readonly index: number;
  /** First hash of the run inside the tile. */
  readonly offset: number;
  /** Number of hashes to fold (a power of two, 1..128). */
  readonly count: number;
}

export function nodeTileRef(height: number, index: number): NodeTileRef {
  const level = Math.floor(height / TILE_HEIGHT);
  const count = 2 ** (height - level * TILE_HEIGHT);
  const first = index * count;
  return { level, index: Math.floor(first / TILE_WIDTH), offset: first % TILE_WIDTH, count };
}
