/**
 * Runs the README's copy-pasteable journeys as written, with `pedigree` pointing at this
 * checkout and the port moved to a free one.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

export function journey(name: string): string {
  const m = new RegExp(`<!-- journey:${name} -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(README);
  if (!m) throw new Error(`README has no journey:${name} block`);
  return m[1]!;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** `files` are put in the journey's folder first (what a reader would have from elsewhere). */
export async function runJourney(name: string | readonly string[], files: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const dir = await tempDir();
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir.path, file), text);
  const port = await freePort();
  // `pedigree` on PATH execs node, so a background `pedigree serve &` is the server itself.
  await mkdir(join(dir.path, 'bin'));
  await writeFile(join(dir.path, 'bin', 'pedigree'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'bin', 'pedigree.js'))} "$@"\n`, { mode: 0o755 });
  const script = [
    'set -euo pipefail',
    `export PATH=${JSON.stringify(join(dir.path, 'bin'))}:"$PATH"`,
    'trap \'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true\' EXIT',
    // Several journeys run one after another in one shell, as a reader following the README does.
    ...(typeof name === 'string' ? [name] : name).map((n) => journey(n).replaceAll('8080', String(port))),
  ].join('\n');
  const r = spawnSync('bash', ['-c', script], { cwd: dir.path, encoding: 'utf8', timeout: 240_000 });
  await dir.remove();
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

