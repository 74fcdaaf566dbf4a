/**
 * Prints the README's benchmark tables (targets, then ingest and HTTP rows) as markdown from a
 * results file: `node --import tsx bench/readme-table.ts [bench/results.json]`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { targets, targetsTable, type BenchResults } from './targets.js';

interface Row {
  concurrency: number;
  bundlesPerSec: number;
  ratioToVerifyTimesCores?: number;
  latencyMs: { p50: number; p99: number };
  ratioToBare?: number;
  bare?: { requestsPerSec: number };
}

export function readmeTables(r: Record<string, any>): string {
  const out: string[] = [];
  const n = (x: number | undefined) => (x === undefined ? '–' : x.toLocaleString('en-US'));
  out.push(`From \`${r.mode === 'quick' ? 'npm run bench -- --quick' : 'npm run bench'}\` on ${r.date?.slice(0, 10) ?? '?'} (Node ${r.machine?.node}, ${r.machine?.cores} cores${r.mode === 'quick' ? '; quick mode, smaller sizes' : ''}):`, '');
  out.push(targetsTable(r.targets ?? targets(r as BenchResults)), '');
  const v = r.p256Verify;
  if (v) out.push(`Baseline: raw P-256 verify ${n(v.singleCorePerSec)}/s on one core × ${v.cores} cores = ${n(v.perSecTimesCores)}/s.`, '');
  const ing = r.ingest;
  if (ing?.inProcess && ing?.http) {
    out.push('| ingest | concurrency | bundles/s | ÷ (verify × cores) | latency p50 / p99 | HTTP ÷ bare node:http (requests/s) |', '| --- | --- | --- | --- | --- | --- |');
    const line = (what: string, row: Row) => `| ${what} | ${row.concurrency} | ${n(row.bundlesPerSec)} | ${row.ratioToVerifyTimesCores ?? '–'} | ${row.latencyMs.p50} / ${row.latencyMs.p99} ms | ${row.ratioToBare !== undefined ? `${row.ratioToBare} (bare ${n(row.bare?.requestsPerSec)}/s)` : ''} |`;
    for (const row of ing.inProcess.single as Row[]) out.push(line('in process, single', row));
    for (const row of ing.inProcess.batch as Row[]) out.push(line('in process, batches of 100', row));
    for (const row of ing.http.single as Row[]) out.push(line('HTTP, single', row));
    for (const row of ing.http.batch as Row[]) out.push(line('HTTP, batches of 100', row));
    out.push('');
  }
  const p = r.http?.inclusionProof;
  if (p) out.push(`GraphQL \`inclusionProof\` at concurrency ${p.concurrency} (tree of ${n(p.treeSize)}): ${n(p.requestsPerSec)}/s, p50 / p99 ${p.latencyMs.p50} / ${p.latencyMs.p99} ms; bare node:http ${n(p.bare.requestsPerSec)}/s; ratio ${p.ratioToBare}.`, '');
  return out.join('\n');
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const file = process.argv[2] ?? join(import.meta.dirname, 'results.json');
  process.stdout.write(`${readmeTables(JSON.parse(readFileSync(file, 'utf8')))}\n`);
}
