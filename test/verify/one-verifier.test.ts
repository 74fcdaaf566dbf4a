/**
 * One verifier, no Node in the shared code: the tree has exactly one evidence verifier, the
 * code the page shares uses no Node-only API, and the built page carries no Node shim.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

describe('one verifier', () => {
  it('only src/verify checks evidence: package signatures, inclusion proofs and DSSE signatures', () => {
    const checks = [/EVIDENCE_SIGNATURE_HEADER\b|'pedigree evidence v1'/, /rootFromInclusionProof\(/, /verifyP256\(/, /function verifyEvidence\(/];
    const offenders = [...files('src'), ...files('web/src')].filter((f) => {
      if (f.startsWith(join('src', 'verify')) || f.startsWith(join('src', 'log'))) return false;
      const text = read(f);
      // The server signs packages with the header (signEvidence); it does not check them.
      return checks.some((re) => re.test(text)) && !/export function signEvidence/.test(text);
    });
    expect(offenders).toEqual([]);
    expect(files('src/verify').filter((f) => /export function verifyEvidence/.test(read(f)))).toEqual([join('src', 'verify', 'evidence.ts')]);
  });

  it('the code the page shares uses no Node-only API', () => {
    const shared = [...files('src/log'), ...files('src/verify'), ...files('src/trust').filter((f) => !f.endsWith('keys.ts')), ...files('src/udi'), 'src/provenance/graph.ts', 'src/provenance/policy.ts', 'src/provenance/outcome.ts', 'src/provenance/view.ts', 'src/provenance/declaration.ts', 'src/provenance/release-policy.ts', 'src/attest/statement.ts', 'src/attest/predicates.ts', 'src/attest/order.ts', 'src/attest/errors.ts'];
    const leaks = shared.filter((f) => /from 'node:|\bBuffer\b|\bprocess\.|require\(/.test(read(f).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')));
    expect(leaks.map((f) => relative(ROOT, join(ROOT, f)))).toEqual([]);
    // The page's own type check has no Node types, so a leak fails `tsc -p web` too.
    expect(JSON.parse(read('web/tsconfig.json')).compilerOptions.types).toEqual([]);
    expect(read('web/vite.config.ts')).not.toMatch(/alias\s*:/);
  });

  it('the page runs the verifier in a worker, never on its main thread', () => {
    expect(read('web/src/main.ts')).not.toMatch(/import \{[^}]*\bverifyEvidence\b[^}]*\} from/);
    expect(read('web/src/verify-worker.ts')).toMatch(/import \{ verifyEvidence[^}]*\} from '..\/..\/src\/verify\/evidence.js'/);
    expect(readdirSync(join(ROOT, 'web', 'dist', 'assets')).some((f) => /^verify-worker-.*\.js$/.test(f))).toBe(true);
  });

  it('the built page carries no Node shim and no code compiled at run time', () => {
    const dir = join(ROOT, 'web', 'dist', 'assets');
    expect(existsSync(dir)).toBe(true);
    const js = readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    expect(js).not.toMatch(/not available in the browser|node:crypto|node-crypto/);
    expect(js).not.toMatch(/new Function\(/);
  });
});
