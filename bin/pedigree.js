#!/usr/bin/env node
// Runs the compiled CLI (dist/) when it is built and up to date, so a command starts at once;
// otherwise (no build, a source changed since, or PEDIGREE_FROM_SOURCE=1) the TypeScript sources
// through tsx, so a checkout works without a build step. See bin/entry.js.
import { compiledMain } from './entry.js';

const compiled = compiledMain();
let main;
if (compiled) {
  ({ main } = await import(compiled));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv);
