/** A follower's compact range gives the same roots as the log's own integration, at every size. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_TREE, appendToFrontier, integrate, leafHash, rootOfFrontier, type TreeState } from '../../src/log/index.js';

describe('appendToFrontier', () => {
  it('agrees with integrate on the root after every leaf', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 600 }), async (n) => {
        const tiles = new Map<string, Uint8Array>();
        let state: TreeState = EMPTY_TREE;
        const frontier: Uint8Array[] = [];
        for (let i = 0; i < n; i++) {
          const leaf = leafHash(new TextEncoder().encode(`leaf ${i}`));
          const r = await integrate(state, [leaf], async (l, t) => tiles.get(`${l}/${t}`));
          for (const [k, v] of r.tiles) tiles.set(k, v);
          state = r.state;
          appendToFrontier(frontier, i, leaf);
          expect(rootOfFrontier(frontier)).toEqual(state.root);
        }
        expect(frontier).toEqual(state.frontier);
      }),
      { numRuns: 15 },
    );
  });
});
