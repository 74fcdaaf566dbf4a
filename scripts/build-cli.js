// npm run build:cli: compiles src/ into dist/ (tsconfig.build.json) and, once that succeeded,
// stamps the build with the time it started (dist/.built). bin/entry.js runs dist/ only while no
// source is newer than the stamp, so an edit made during or after a build runs from source.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const stamp = join(root, 'dist', '.built');
const started = new Date();
rmSync(stamp, { force: true });
// tsc's incremental build info would skip files it believes emitted: start over without a build.
if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) rmSync(join(root, 'dist', '.tsbuildinfo'), { force: true });
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // An install without dev dependencies has no compiler: as `npm ci`'s prepare step, leave the
  // CLI to run from its sources (tsx is a dependency) instead of failing the install.
  if (process.env.npm_lifecycle_event !== 'prepare') throw new Error('typescript is not installed: run npm ci');
  process.stderr.write('pedigree: typescript is not installed, so the CLI is not compiled and runs from its sources\n');
  process.exit(0);
}
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
writeFileSync(stamp, `${started.toISOString()}\n`);
utimesSync(stamp, started, started);
