/**
 * Vitest global setup: the CLI tests spawn bin/pedigree.js, which runs the compiled CLI (dist/)
 * only while it is up to date with src/ (bin/entry.js). Build it first when it is missing or
 * stale, so every run, `npm test` or `vitest run some.test.ts`, tests the current code compiled.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { compiledMain, ROOT } from '../bin/entry.js';

export default function setup(): void {
  if (compiledMain(ROOT, {}) !== null) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.js')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build:cli failed: the compiled CLI the tests run could not be built');
}
