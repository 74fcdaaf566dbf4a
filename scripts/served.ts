/** What the load and soak scripts share: a `pedigree serve` child process, and their options. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', 'bin', 'pedigree.js');

/**
 * Starts `pedigree serve` on a data directory (no rate limit: all load comes from one address);
 * resolves once it serves. `nodeArgs` go to node itself (--cpu-prof, say).
 */
export async function startServed(data: string, port: number, nodeArgs: readonly string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--data', data, '--port', String(port), '--rate-limit', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Press Ctrl-C')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before it served`)));
  });
  return child;
}

/** `--name N` from the command line, or the default. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}
