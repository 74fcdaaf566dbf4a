// Which code `pedigree` runs: the compiled CLI in dist/ (`npm run build:cli`, run by `npm ci`, by
// `npm start` and before the tests), or the TypeScript sources through tsx. Plain JavaScript, so
// it runs before anything is compiled.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The package root: bin/.. (src/, dist/, attestations/, web/dist/ are under it). */
export const ROOT = join(import.meta.dirname, '..');

/** Written by scripts/build-cli.js once a build succeeded; its time is when that build started. */
export const STAMP = join('dist', '.built');

/**
 * The compiled entry point (dist/cli/main.js) to run, or null to run the sources (src/cli/main.ts).
 * The sources run when PEDIGREE_FROM_SOURCE=1, when there is no finished build, and in a checkout
 * when a source file (or a tsconfig) changed after the build started: a stale build never runs
 * old code; it only runs slower until `npm run build:cli`. A packed package ships dist/ without
 * src/, so it always runs the build.
 */
export function compiledMain(root = ROOT, env = process.env) {
  if (env.PEDIGREE_FROM_SOURCE === '1') return null;
  const main = join(root, 'dist', 'cli', 'main.js');
  let built;
  try {
    built = statSync(join(root, STAMP)).mtimeMs;
  } catch {
    return null;
  }
  if (!existsSync(main)) return null;
  return newestSource(root) > built ? null : main;
}

/** The newest modification time under src/ (files and directories) and of the tsconfigs (0 without sources). */
function newestSource(root) {
  let newest = 0;
  const consider = (path) => {
    try {
      newest = Math.max(newest, statSync(path).mtimeMs);
    } catch {
      // absent: nothing to compare
    }
  };
  consider(join(root, 'tsconfig.json'));
  consider(join(root, 'tsconfig.build.json'));
  const src = join(root, 'src');
  if (!existsSync(src)) return newest;
  // Directories too: deleting or renaming a file changes only its directory's time.
  consider(src);
  for (const f of readdirSync(src, { recursive: true })) consider(join(src, f));
  return newest;
}
