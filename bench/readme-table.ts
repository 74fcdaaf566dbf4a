/**
 * Prints the README's benchmark tables (targets, then ingest and HTTP rows) as markdown from a
 * results file: `node --import tsx bench/readme-table.ts [bench/results.json] [--write]`; with
 * --write, replaces the block between the README's bench markers instead of printing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
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
  out.push(`From \`${r.mode === 'quick' ? 'npm run bench -- --quick' : 'npm run bench'}\` on ${r.date?.slice(0, 10) ?? '?'} (Node ${r.machine?.node}, ${r.machine?.cores} cores${r.machine?.loadAverageAtStart !== undefined ? `, load average ${r.machine.loadAverageAtStart} at the start, ${r.machine.loadAverageAtEnd} at the end` : ''}${r.mode === 'quick' ? '; quick mode, smaller sizes' : ''}):`, '');
  out.push(targetsTable(r.targets ?? targets(r as BenchResults)), '');
  const v = r.p256Verify;
  if (v) out.push(`Baseline: raw P-256 verify ${n(v.singleCorePerSec)}/s on one core × ${v.cores} cores = ${n(v.perSecTimesCores)}/s.`, '');
  const ing = r.ingest;
  if (ing?.inProcess && ing?.http) {
    out.push('| ingest | concurrency | bundles/s | ÷ (verify × cores) | latency p50 / p99 | HTTP ÷ bare node:http (requests/s) |', '| --- | --- | --- | --- | --- | --- |');
    const line = (what: string, row: Row) => `| ${what} | ${row.concurrency} | ${n(row.bundlesPerSec)} | ${row.ratioToVerifyTimesCores ?? '–'} | ${row.latencyMs.p50} / ${row.latencyMs.p99} ms | ${row.ratioToBare !== undefined ? `${row.ratioToBare} (bare ${n(row.bare?.requestsPerSec)}/s)` : ''} |`;
    for (const row of ing.inProcess.single as Row[]) out.push(line('in process, single', row));
    for (const row of ing.inProcess.batch as Row[]) out.push(line('in process, batches of 100', row));
    for (const b of (r.postgres?.batch ?? []) as Array<{ postgres: Row }>) out.push(line('in process, batches of 100, on PostgreSQL', b.postgres));
    for (const row of ing.http.single as Row[]) out.push(line('HTTP, single', row));
    for (const row of ing.http.batch as Row[]) out.push(line('HTTP, batches of 100', row));
    out.push('');
  }
  const p = r.http?.inclusionProof;
  if (p) out.push(`GraphQL \`inclusionProof\` at concurrency ${p.concurrency} (tree of ${n(p.treeSize)}): ${n(p.requestsPerSec)}/s, p50 / p99 ${p.latencyMs.p50} / ${p.latencyMs.p99} ms; bare node:http ${n(p.bare.requestsPerSec)}/s; ratio ${p.ratioToBare}.`, '');
  const rows: string[] = [];
  const sizes = (o: Record<string, unknown> | undefined) => Object.keys(o ?? {}).map((k) => (Number(k) >= 1e6 ? `10^${Math.log10(Number(k))}` : n(Number(k)))).join(' / ');
  if (r.append) rows.push(`| append to the LevelDB log at ${sizes(r.append.entriesPerSecAtSize)} entries (cumulative) | ${Object.values(r.append.entriesPerSecAtSize as Record<string, number>).map(n).join(' / ')} /s |`);
  if (r.inclusionProofs) {
    const u = r.inclusionProofs.uncachedAtSize as Record<string, { proofsPerSec: number; tileReadsPerProof: number }>;
    rows.push(`| inclusion proof, no tile cache, at ${sizes(u)} entries | ${Object.values(u).map((x) => n(x.proofsPerSec)).join(' / ')} /s; ${Object.values(u).map((x) => x.tileReadsPerProof).join(' / ')} tile reads each (O(log n)) |`);
    const c = r.inclusionProofs.cachedAtSize as Record<string, { proofsPerSec: number }>;
    rows.push(`| inclusion proof, tile cache on | ${Object.values(c).map((x) => n(x.proofsPerSec)).join(' / ')} /s |`);
  }
  const pg = r.postgres;
  if (pg?.skipped) rows.push(`| batch ingest on PostgreSQL ÷ LevelDB | skipped: ${pg.skipped} |`);
  else if (pg?.error) rows.push(`| batch ingest on PostgreSQL ÷ LevelDB | **failed**: ${pg.error} |`);
  else if (pg?.batch) {
    const b = pg.batch as Array<{ concurrency: number; ratio: number; postgres: Row; levelDb: Row }>;
    const host = (() => {
      try {
        return ` at ${new URL(pg.database).hostname}`;
      } catch {
        return '';
      }
    })();
    const each = (f: (x: (typeof b)[number]) => string) => b.map(f).join(' / ');
    const lat = (x: { latencyMs: { p50: number; p99: number } }) => `${x.latencyMs.p50} / ${x.latencyMs.p99} ms`;
    const lats = (which: 'postgres' | 'levelDb') => b.map((x) => lat(x[which])).join(', ');
    rows.push(`| batch ingest in process (${pg.bundlesPerBatch} a batch, concurrency ${each((x) => String(x.concurrency))}) on PostgreSQL ${pg.serverVersion}${host} ÷ LevelDB, the same bundles in the same run | **${each((x) => String(x.ratio))}** (PostgreSQL ${each((x) => n(x.postgres.bundlesPerSec))} /s, p50 / p99 a batch ${lats('postgres')}; LevelDB ${each((x) => n(x.levelDb.bundlesPerSec))} /s, ${lats('levelDb')}); best ÷ best ${pg.ratio}${pg.errors ? `, **${pg.errors} errors**` : ''} |`);
    const rd = pg.reads;
    if (rd) {
      rows.push(`| after that ingest (${n(rd.treeSize)} entries), no tile cache, one at a time, p50 / p99: inclusion proof; entry read | PostgreSQL ${lat(rd.postgres.inclusionProof)}; ${lat(rd.postgres.entry)} — LevelDB ${lat(rd.levelDb.inclusionProof)}; ${lat(rd.levelDb.entry)} (p50 PostgreSQL ÷ LevelDB ${rd.inclusionProofP50Ratio}; ${rd.entryP50Ratio}) |`);
    }
  }
  if (r.startup) rows.push(`| ledger start-up at ${n(r.startup.treeSize)} entries | ${r.startup.milliseconds} ms |`);
  const ix = r.ingest?.index;
  if (ix) rows.push(`| ingest with / without the verifiable index (${n(ix.bundles)} bundles, 500 at a time, in process) | ${n(ix.ingestPerSec)} / ${n(ix.ingestWithoutIndexPerSec)} /s (with ÷ without = ${ix.indexRatio}) |`);
  const d = r.device;
  if (d) rows.push(`| device of ${d.components} components (${d.componentAttestations} component attestations, ${d.bundles} in its evidence): server verdict / evidence package / offline verification (median; mean) | ${d.verifyMs} / ${d.evidenceMs} / ${d.offlineVerifyMs} ms (${d.offlineVerifyMeanMs ?? '–'} ms), ${d.verdict} |`);
  const c = r.cli;
  if (c) rows.push(`| \`node -e 0\` / \`pedigree --help\` / \`pedigree verify-evidence\` (median of ${c.runs}) | ${c.nodeMs} / ${c.helpMs} / ${c.verifyEvidenceMs} ms (exit ${c.verifyEvidenceExit}) |`);
  const f = r.footprint;
  if (f) rows.push(`| after ${n(f.attestations)} attestations: RSS (after GC; at open) / disk ÷ bundle bytes | ${f.rssMegabytes} MB (${f.rssAtOpenMegabytes} MB) / ${n(f.diskBytes)} ÷ ${n(f.bundleBytes)} = ${f.diskRatio} |`);
  for (const i of (r.index ?? []) as Array<Record<string, number>>) rows.push(`| verifiable index of ${n(i.entries)} entries: build / lookup cold, warm / proof | ${n(i.buildEntriesPerSec)} /s / ${i.coldLookupMs}, ${i.warmLookupMs} ms / ${i.proofSiblings} hashes, ${n(i.proofBytes)} bytes |`);
  for (const b of (r.sbom ?? []) as Array<Record<string, number | string>>) rows.push(`| ${b.format} SBOM, ${n(b.components as number)} components (${b.megabytes} MB): ingest with / without the index; evidence build / size / verify | ${b.ingestMs} / ${b.ingestWithoutIndexMs} ms; ${b.evidenceMs} ms / ${b.evidenceMegabytes} MB / ${b.verifyMs} ms |`);
  if (rows.length) out.push('| other measures | result |', '| --- | --- |', ...rows, '');
  return out.join('\n');
}

const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';

/** The README with the text between its bench markers replaced by `tables`. */
export function replaceInReadme(readme: string, tables: string): string {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`the README has no ${BEGIN} … ${END} block`);
  return `${readme.slice(0, a + BEGIN.length)}\n${tables.trimEnd()}\n${readme.slice(b)}`;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--')) ?? join(import.meta.dirname, 'results.json');
  const tables = readmeTables(JSON.parse(readFileSync(file, 'utf8')));
  if (args.includes('--write')) {
    const readme = join(import.meta.dirname, '..', 'README.md');
    writeFileSync(readme, replaceInReadme(readFileSync(readme, 'utf8'), tables));
  } else process.stdout.write(`${tables}\n`);
}
