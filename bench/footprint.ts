/**
 * Footprint after ingesting N attestations, in a child process of its own (so that nothing else
 * this bench holds counts): the ledger's resident set size, and the bytes its data directory
 * takes on disk ÷ the bytes of the bundles submitted (compact JSON, as a client sends them).
 *
 * The child signs bundles in waves of 1,000 and submits each wave in batches of 100 (four at a
 * time), dropping its references before the next wave, so what stays resident is the ledger's.
 * RSS is read after a full garbage collection; disk is every file under the data directory
 * (LevelDB, keys, configuration), summed after the ledger is closed.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { benchSupplier, directoryBytes, openNode, round, signComponents } from './common.js';
import { closedLoop, registerSupplier } from './ingest.js';

export interface FootprintResult {
  attestations: number;
  /** Resident set size after the ingest and a full GC. */
  rssMegabytes: number;
  /** Before the GC, for reference. */
  rssBeforeGcMegabytes: number;
  /** Right after the ledger opened, empty. */
  rssAtOpenMegabytes: number;
  heapUsedMegabytes: number;
  bundleBytes: number;
  diskBytes: number;
  /** diskBytes ÷ bundleBytes. */
  diskRatio: number;
  ingestSeconds: number;
}

const MB = 1024 * 1024;

async function child(count: number): Promise<FootprintResult> {
  const node = await openNode();
  try {
    const rssAtOpen = process.memoryUsage().rss;
    const supplier = benchSupplier();
    await registerSupplier(node, supplier);
    let bundleBytes = 0;
    let ingestMs = 0;
    for (let start = 0; start < count; start += 1000) {
      const wave = await signComponents(supplier, Math.min(1000, count - start), `fp${start}`);
      for (const b of wave) bundleBytes += Buffer.byteLength(JSON.stringify(b));
      const batches: unknown[][] = [];
      for (let i = 0; i < wave.length; i += 100) batches.push(wave.slice(i, i + 100));
      const r = await closedLoop(batches, 4, async (b) => (await node.attestations.submitMany(b)).filter((x) => 'error' in x || x.duplicate).length);
      if (r.errors) throw new Error(`${r.errors} bundles were not recorded`);
      ingestMs += r.ms;
    }
    const rssBeforeGc = process.memoryUsage().rss;
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const mem = process.memoryUsage();
    await node.close();
    const diskBytes = await directoryBytes(node.dir);
    return {
      attestations: count,
      rssMegabytes: round(mem.rss / MB, 1),
      rssBeforeGcMegabytes: round(rssBeforeGc / MB, 1),
      rssAtOpenMegabytes: round(rssAtOpen / MB, 1),
      heapUsedMegabytes: round(mem.heapUsed / MB, 1),
      bundleBytes,
      diskBytes,
      diskRatio: round(diskBytes / bundleBytes, 3),
      ingestSeconds: round(ingestMs / 1000, 1),
    };
  } finally {
    await node.cleanup();
  }
}

/** Runs the measurement in a child process and returns what it reports. */
export async function benchFootprint(count: number): Promise<FootprintResult> {
  const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'footprint.ts'), '--child', String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  if (code !== 0) throw new Error(`the footprint child exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as FootprintResult;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const i = process.argv.indexOf('--child');
  if (i > 0) process.stdout.write(`${JSON.stringify(await child(Number(process.argv[i + 1])))}\n`);
  else console.log(await benchFootprint(Number(process.argv[2] ?? 100_000)));
}
