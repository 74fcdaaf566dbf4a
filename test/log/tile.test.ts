import { describe, expect, it } from 'vitest';
import { encodeTileIndex, nodeTileRef, parseTilePath, tilePath, tileWidth } from '../../src/log/index.js';

describe('tile paths', () => {
  it.each([
    [0, '000'],
    [5, '005'],
    [999, '999'],
    [1000, 'x001/000'],
    [1234067, 'x001/x234/067'],
  ])('encodes index %i as %s', (n, text) => {
    expect(encodeTileIndex(n)).toBe(text);
    expect(parseTilePath(`tile/0/${text}`)).toEqual({ level: 0, index: n });
  });

  it('round-trips partial tiles and entry bundles', () => {
    for (const id of [{ level: 2, index: 1234067, width: 7 }, { level: 'entries' as const, index: 3, width: 255 }, { level: 'entries' as const, index: 0 }]) {
      expect(parseTilePath(tilePath(id))).toEqual(id);
    }
    expect(tilePath({ level: 0, index: 1234067, width: 5 })).toBe('tile/0/x001/x234/067.p/5');
  });

  it.each([
    'tile/0/5',
    'tile/0/0005',
    'tile/0/x000/005',
    'tile/0/001/005',
    'tile/0/x1/005',
    'tile/64/000',
    'tile/01/000',
    'tile/-1/000',
    'tile/0/000.p/0',
    'tile/0/000.p/256',
    'tile/0/000.p/01',
    'tile/0/000.p/',
    'tile/data/000',
    'tiles/0/000',
    'tile/0',
    'tile/0/x001/x002/x003/x004/x005/x006/007',
  ])('rejects %s', (path) => {
    expect(() => parseTilePath(path)).toThrow(expect.objectContaining({ code: 'TILE_PATH_MALFORMED' }));
  });

  it('accepts levels up to 63, as C2SP tlog-tiles does', () => {
    expect(parseTilePath('tile/8/000')).toEqual({ level: 8, index: 0 });
    expect(parseTilePath('tile/63/000')).toEqual({ level: 63, index: 0 });
    expect(tileWidth(2 ** 40, 63, 0)).toBe(0);
  });

  it('computes tile widths at tile boundaries', () => {
    expect(tileWidth(0, 0, 0)).toBe(0);
    expect(tileWidth(255, 0, 0)).toBe(255);
    expect(tileWidth(256, 0, 0)).toBe(256);
    expect(tileWidth(257, 0, 1)).toBe(1);
    expect(tileWidth(257, 1, 0)).toBe(1);
    expect(tileWidth(65537, 1, 0)).toBe(256);
    expect(tileWidth(65537, 2, 0)).toBe(1);
  });

  it('locates a node inside the tile at its level', () => {
    expect(nodeTileRef(0, 300)).toEqual({ level: 0, index: 1, offset: 44, count: 1 });
    expect(nodeTileRef(3, 40)).toEqual({ level: 0, index: 1, offset: 64, count: 8 });
    expect(nodeTileRef(8, 2)).toEqual({ level: 1, index: 0, offset: 2, count: 1 });
    expect(nodeTileRef(15, 1)).toEqual({ level: 1, index: 0, offset: 128, count: 128 });
  });
});
