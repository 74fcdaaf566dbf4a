import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyConsistency, verifyInclusion } from '../../src/log/index.js';

const root = join(import.meta.dirname, '..', 'vectors', 'merkle');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? jsonFiles(p) : p.endsWith('.json') ? [p] : [];
  });
}

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

interface InclusionCase { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; wantErr: boolean }
interface ConsistencyCase { size1: number; size2: number; root1: string; root2: string; proof: string[] | null; wantErr: boolean }

describe('RFC 9162 proof vectors', () => {
  const inclusion = jsonFiles(join(root, 'inclusion'));
  const consistency = jsonFiles(join(root, 'consistency'));

  it('ships every vector directory', () => {
    expect(inclusion.length).toBeGreaterThan(80);
    expect(consistency.length).toBeGreaterThan(90);
  });

  for (const file of inclusion) {
    const c = JSON.parse(readFileSync(file, 'utf8')) as InclusionCase;
    it(`inclusion ${relative(root, file)} ${c.wantErr ? 'is rejected' : 'verifies'}`, () => {
      const run = () => verifyInclusion(c.leafIdx, c.treeSize, b64(c.leafHash), (c.proof ?? []).map(b64), b64(c.root));
      if (c.wantErr) expect(run).toThrow();
      else expect(run).not.toThrow();
    });
  }

  for (const file of consistency) {
    const c = JSON.parse(readFileSync(file, 'utf8')) as ConsistencyCase;
    it(`consistency ${relative(root, file)} ${c.wantErr ? 'is rejected' : 'verifies'}`, () => {
      const run = () => verifyConsistency(c.size1, c.size2, (c.proof ?? []).map(b64), b64(c.root1), b64(c.root2));
      if (c.wantErr) expect(run).toThrow();
      else expect(run).not.toThrow();
    });
  }
});
