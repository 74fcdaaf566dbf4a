/**
 * The verifiable index's map: for random contents every lookup proof verifies and gives exactly
 * the list held, absent keys prove absent, the root does not depend on the order of updates, and
 * any altered proof fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY, VerifiableMap, keyHash, valueHash, verifyList, verifyLookup, type LookupProof } from '../../src/vindex/map.js';

const contents = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.uniqueArray(fc.nat({ max: 1_000_000 }), { minLength: 1, maxLength: 5 }).map((a) => a.sort((x, y) => x - y)), { minKeys: 0, maxKeys: 60 });

function build(entries: Array<[string, number[]]>): VerifiableMap {
  const m = new VerifiableMap();
  for (const [k, v] of entries) m.set(keyHash(k), valueHash(v));
  return m;
}

const fails = (f: () => unknown) => {
  try {
    f();
    return false;
  } catch {
    return true;
  }
};

describe('the verifiable index map', () => {
  it('proves every list it holds, and absence of every key it does not', () => {
    fc.assert(
      fc.property(contents, fc.array(fc.string({ minLength: 13, maxLength: 20 }), { maxLength: 10 }), (dict, absent) => {
        const entries = Object.entries(dict);
        const m = build(entries);
        for (const [k, v] of entries) {
          verifyList(m.root, k, v, m.prove(keyHash(k)));
          expect(fails(() => verifyList(m.root, k, [...v, 1_000_001], m.prove(keyHash(k))))).toBe(true);
          expect(fails(() => verifyList(m.root, k, [], m.prove(keyHash(k))))).toBe(true);
        }
        for (const k of absent) {
          verifyList(m.root, k, [], m.prove(keyHash(k)));
          expect(verifyLookup(m.root, keyHash(k), m.prove(keyHash(k)))).toBeUndefined();
        }
      }),
      { numRuns: 60, seed: 20261130 },
    );
  });

  it('has one root for one content, whatever the order of updates, and a new one for any change', () => {
    fc.assert(
      fc.property(contents.filter((d) => Object.keys(d).length > 0), fc.nat(), (dict, seed) => {
        const entries = Object.entries(dict);
        const shuffled = [...entries].sort((a, b) => ((a[0].charCodeAt(0) * 31 + seed) % 97) - ((b[0].charCodeAt(0) * 31 + seed) % 97));
        const a = build(entries);
        const b = build(shuffled);
        // Updating a value in place lands on the same root as setting it once.
        const c = build(entries.map(([k]) => [k, [0]]));
        for (const [k, v] of entries) c.set(keyHash(k), valueHash(v));
        expect(a.root).toEqual(b.root);
        expect(c.root).toEqual(a.root);
        const [k, v] = entries[0]!;
        const d = build(entries);
        d.set(keyHash(k), valueHash([...v, 1_000_001]));
        expect(d.root).not.toEqual(a.root);
      }),
      { numRuns: 60, seed: 20261130 },
    );
  });

  it('refuses any altered proof', () => {
    fc.assert(
      fc.property(contents.filter((d) => Object.keys(d).length > 1), fc.nat(), fc.nat({ max: 255 }), (dict, which, byte) => {
        const entries = Object.entries(dict);
        const m = build(entries);
        const [k, v] = entries[which % entries.length]!;
        const p = m.prove(keyHash(k));
        const alter: Array<(p: LookupProof) => LookupProof> = [
          (q) => ({ ...q, siblings: q.siblings.map((s, i) => (i === byte % q.siblings.length ? s.map((x, j) => (j === byte % 32 ? x ^ 1 : x)) : s)) }),
          (q) => ({ ...q, siblings: q.siblings.slice(1) }),
          (q) => ({ ...q, siblings: [...q.siblings, EMPTY] }),
          (q) => ({ ...q, siblings: [...q.siblings, keyHash('x')] }),
          (q) => ({ ...q, terminal: { kind: 'empty' } }),
        ];
        for (const f of alter) {
          const q = f(p);
          if (q.siblings.length === p.siblings.length && q.siblings.every((s, i) => s.every((x, j) => x === p.siblings[i]![j])) && q.terminal.kind === p.terminal.kind) continue;
          expect(fails(() => verifyList(m.root, k, v, q))).toBe(true);
        }
        // A proof for one key does not serve another.
        const [k2] = entries[(which + 1) % entries.length]!;
        expect(fails(() => verifyList(m.root, k2, v, p))).toBe(true);
      }),
      { numRuns: 60, seed: 20261130 },
    );
  });

  it('an empty map proves every key absent; its root is the empty hash', () => {
    const m = new VerifiableMap();
    expect(m.root).toEqual(EMPTY);
    verifyList(m.root, 'udi:(01)09506000134352(21)X', [], m.prove(keyHash('udi:(01)09506000134352(21)X')));
  });
});
