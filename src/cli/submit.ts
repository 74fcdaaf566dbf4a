/**
 * `pedigree submit BUNDLE...`: bulk upload of signed bundles through the batch mutation
 * (submitAttestations), up to 100 per request, each answered on its own.
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ClientError, MAX_BATCH, submitBundles, type BatchResult } from '../client/graphql.js';
import { CliError, EXIT_ERROR, parsePositive, printJson, terminalSafe, whyUnreadable } from './util.js';

export interface SubmitOptions {
  server: string;
  outDir?: string;
  batchSize?: string;
  json?: boolean;
}

/** Bundle bytes sent in one request at most (the server takes 16 MiB by default); a bigger bundle goes alone. */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;
/** Waits before retrying a request the server pushed back (LOG_BUSY, RATE_LIMITED), in ms. */
const RETRY_MS = [1000, 2000, 4000, 8000, 8000];

export type FileResult = { file: string } & (BatchResult | { ok: false; code: 'UNREADABLE' | 'MALFORMED_JSON'; message: string });

async function readBundle(file: string): Promise<{ bundle: unknown; bytes: number } | FileResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return { file, ok: false, code: 'UNREADABLE', message: `cannot read ${file}: ${whyUnreadable(e)}` };
  }
  try {
    return { bundle: JSON.parse(text), bytes: Buffer.byteLength(text) };
  } catch {
    return { file, ok: false, code: 'MALFORMED_JSON', message: `${file} is not JSON` };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One request, retried while the server pushes back; resubmitting is safe (duplicates are answered as such). */
async function sendBatch(server: string, bundles: unknown[], completed: boolean): Promise<BatchResult[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await submitBundles(server, bundles, completed);
    } catch (e) {
      const pushedBack = e instanceof ClientError && (e.code === 'LOG_BUSY' || e.code === 'RATE_LIMITED');
      if (!pushedBack || attempt >= RETRY_MS.length) throw e;
      await sleep(RETRY_MS[attempt]!);
    }
  }
}

/**
 * Exit 0 when every bundle is in the log (recorded now or already), 1 when some were refused
 * (each named, the others recorded), 3 on errors (bad usage, the server unreachable).
 */
export async function submitCommand(files: string[], opts: SubmitOptions): Promise<void> {
  const size = opts.batchSize === undefined ? MAX_BATCH : parsePositive('--batch-size', opts.batchSize);
  if (size > MAX_BATCH) throw new CliError(`--batch-size must be 1..${MAX_BATCH}`);
  if (files.length === 0) throw new CliError('give the bundle files to submit');
  const outDir = opts.outDir === undefined ? undefined : resolve(opts.outDir);
  if (outDir !== undefined) {
    const names = new Map<string, string>();
    for (const f of files) {
      const other = names.get(basename(f));
      if (other !== undefined && other !== f) throw new CliError(`--out-dir: ${other} and ${f} would both be written as ${basename(f)}; nothing was sent`);
      names.set(basename(f), f);
    }
    await mkdir(outDir, { recursive: true }).catch(() => undefined);
    await access(outDir, constants.W_OK).catch(() => {
      throw new CliError(`cannot write to --out-dir ${outDir}; nothing was sent`);
    });
  }
  const results: FileResult[] = [];
  const report = (r: FileResult) => {
    results.push(r);
    if (opts.json) return;
    const line = r.ok ? `${r.duplicate ? 'already in the log' : 'recorded'} at log index ${r.logIndex}` : `REFUSED ${r.code}: ${r.message}`;
    process.stdout.write(`${terminalSafe(r.file)}: ${terminalSafe(line)}\n`);
  };
  const requests = Math.ceil(files.length / size);
  let next = 0;
  let sent = 0;
  while (next < files.length) {
    // A batch: up to `size` readable bundles and MAX_REQUEST_BYTES (a bigger bundle alone).
    const batch: Array<{ file: string; bundle: unknown }> = [];
    // Results are reported in the order the files were given: a file refused here waits for the
    // answers of the batch around it.
    const order: Array<FileResult | number> = [];
    let bytes = 0;
    while (next < files.length && batch.length < size) {
      const file = files[next]!;
      const read = await readBundle(file);
      if ('file' in read) {
        order.push(read);
        next++;
        continue;
      }
      if (batch.length > 0 && bytes + read.bytes > MAX_REQUEST_BYTES) break;
      order.push(batch.length);
      batch.push({ file, bundle: read.bundle });
      bytes += read.bytes;
      next++;
    }
    if (batch.length === 0) {
      for (const r of order) report(r as FileResult);
      continue;
    }
    let answers: BatchResult[];
    try {
      answers = await sendBatch(opts.server, batch.map((b) => b.bundle), outDir !== undefined);
    } catch (e) {
      const done = sent > 0 ? ` ${sent} of ${files.length} bundles were answered before it (submitting them again is safe: those in the log come back as already there).` : '';
      throw new CliError(`${(e as Error).message}${e instanceof ClientError ? ` (${e.code})` : ''}.${done}`, EXIT_ERROR, e instanceof ClientError ? e.code : 'ERROR', { answered: sent });
    }
    for (const slot of order) {
      if (typeof slot !== 'number') {
        report(slot);
        continue;
      }
      const a = answers[slot]!;
      const file = batch[slot]!.file;
      if (a.ok && outDir !== undefined && a.bundle !== undefined) {
        await writeFile(join(outDir, basename(file)), `${JSON.stringify(a.bundle, null, 2)}\n`);
      }
      const { bundle: _completed, ...shown } = a as BatchResult & { bundle?: unknown };
      report({ file, ...shown } as FileResult);
    }
    sent += batch.length;
    if (requests > 1) process.stderr.write(`pedigree: ${next} of ${files.length} bundles submitted\n`);
  }
  const refused = results.filter((r) => !r.ok).length;
  const duplicates = results.filter((r) => r.ok && r.duplicate).length;
  const recorded = results.length - refused - duplicates;
  if (opts.json) printJson({ bundles: results.length, recorded, duplicates, refused, ...(outDir !== undefined && { outDir }), results });
  else process.stdout.write(`${recorded} recorded, ${duplicates} already in the log, ${refused} refused${outDir !== undefined && recorded + duplicates > 0 ? `; completed bundles written to ${outDir}` : ''}\n`);
  if (refused > 0) process.exitCode = 1;
}
