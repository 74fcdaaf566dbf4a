/** The targets the bench checks, read from its results; and the README's table of them. */
import type { PostgresBenchOutcome } from './postgres.js';

export interface Target {
  id: string;
  description: string;
  /** How the measured value must compare with the threshold. */
  op: '>=' | '<=' | '<';
  threshold: number;
  measured: number | null;
  unit: string;
  met: boolean;
  /** Where the measured value is in results.json, and anything that qualifies it (quick mode). */
  source: string;
  note?: string;
}

type Spec = Omit<Target, 'measured' | 'met' | 'note'> & { read: (r: BenchResults) => number | undefined; note?: (r: BenchResults) => string | undefined };

/** The parts of results.json the targets read (all optional: a partial run still gets a table). */
export interface BenchResults {
  mode?: 'full' | 'quick';
  ingest?: {
    batchRatioToVerifyTimesCores?: number;
    batchPerSec?: number;
    http?: { single?: Array<{ concurrency: number; bundlesPerSec: number; errors: number; latencyMs: { p50: number } }> };
  };
  http?: { inclusionProof?: { ratioToBare?: number; treeSize?: number } };
  device?: { offlineVerifyMs?: number; components?: number; componentAttestations?: number; verdict?: string };
  footprint?: { diskRatio?: number; rssMegabytes?: number; attestations: number };
  cli?: { helpRatio?: number; verifyEvidenceRatio?: number; verifyEvidenceExit?: number };
  startup?: { treeSize: number; milliseconds?: number };
  /**
   * In-process batch ingest on PostgreSQL beside LevelDB, same bundles, same run (postgres.ts):
   * rows per concurrency, the best rate on each and PostgreSQL ÷ LevelDB, reads with no tile
   * cache; or `{ skipped }` when PEDIGREE_BENCH_PG (or PEDIGREE_TEST_PG) is unset, or `{ error }`.
   * Reported, not a target.
   */
  postgres?: PostgresBenchOutcome;
}

const SPECS: Spec[] = [
  {
    id: 'ingest.batchRatioToVerifyTimesCores',
    description: 'batch ingest over HTTP (submitAttestations, 100 a request) ÷ (single-core P-256 verify rate × cores)',
    op: '>=',
    threshold: 0.5,
    unit: '×',
    source: 'ingest.batchRatioToVerifyTimesCores',
    read: (r) => r.ingest?.batchRatioToVerifyTimesCores,
  },
  {
    id: 'ingest.httpSingleAt64RatioToBatch',
    description: 'single-bundle HTTP ingest at 64 in flight ÷ batch ingest over HTTP',
    op: '>=',
    threshold: 0.5,
    unit: '×',
    source: 'ingest.http.single[concurrency 64].bundlesPerSec ÷ ingest.batchPerSec',
    read: (r) => {
      const at64 = r.ingest?.http?.single?.find((s) => s.concurrency === 64);
      return at64 && at64.errors === 0 && r.ingest?.batchPerSec ? +(at64.bundlesPerSec / r.ingest.batchPerSec).toFixed(3) : undefined;
    },
  },
  {
    id: 'ingest.httpSingleP50AtConcurrency1',
    description: 'single submission over HTTP at concurrency 1, latency p50',
    op: '<',
    threshold: 10,
    unit: 'ms',
    source: 'ingest.http.single[concurrency 1].latencyMs.p50',
    read: (r) => {
      const at1 = r.ingest?.http?.single?.find((s) => s.concurrency === 1);
      return at1 && at1.errors === 0 ? at1.latencyMs.p50 : undefined;
    },
  },
  {
    id: 'http.inclusionProofRatioToBare',
    description: 'GraphQL inclusionProof queries/s ÷ bare node:http answering the same bytes',
    op: '>=',
    threshold: 0.3,
    unit: '×',
    source: 'http.inclusionProof.ratioToBare',
    read: (r) => r.http?.inclusionProof?.ratioToBare,
  },
  {
    id: 'device.verifyMs',
    description: '200-component device (200 component attestations): evidence verified offline with all cryptography and the policy evaluated (median of the runs)',
    op: '<',
    threshold: 100,
    unit: 'ms',
    source: 'device.offlineVerifyMs',
    read: (r) => (r.device?.verdict === 'PASS' ? r.device.offlineVerifyMs : undefined),
    note: (r) => (r.device && r.device.verdict !== 'PASS' ? `verdict ${r.device.verdict}, not PASS` : undefined),
  },
  {
    id: 'footprint.diskRatio',
    description: 'disk bytes (data directory, after close) ÷ bundle bytes ingested',
    op: '<=',
    threshold: 1.3,
    unit: '×',
    source: 'footprint.diskRatio',
    read: (r) => r.footprint?.diskRatio,
    note: (r) => (r.footprint ? `after ${r.footprint.attestations.toLocaleString('en-US')} attestations` : undefined),
  },
  {
    id: 'footprint.rssMegabytes',
    description: 'ledger RSS after 100,000 attestations',
    op: '<',
    threshold: 300,
    unit: 'MB',
    source: 'footprint.rssMegabytes',
    read: (r) => r.footprint?.rssMegabytes,
    note: (r) => (r.footprint && r.footprint.attestations !== 100_000 ? `quick mode: after ${r.footprint.attestations.toLocaleString('en-US')} attestations, not 100,000` : undefined),
  },
  {
    id: 'cli.helpRatio',
    description: '`pedigree --help` start-up ÷ `node -e 0` (medians)',
    op: '<=',
    threshold: 3,
    unit: '×',
    source: 'cli.helpRatio',
    read: (r) => r.cli?.helpRatio,
  },
  {
    id: 'cli.verifyEvidenceRatio',
    description: '`pedigree verify-evidence` on the saved 200-component package ÷ `node -e 0` (medians)',
    op: '<=',
    threshold: 5,
    unit: '×',
    source: 'cli.verifyEvidenceRatio',
    read: (r) => (r.cli?.verifyEvidenceExit === 0 ? r.cli.verifyEvidenceRatio : undefined),
    note: (r) => (r.cli && r.cli.verifyEvidenceExit !== 0 ? `exit ${r.cli.verifyEvidenceExit}, not 0` : undefined),
  },
  {
    id: 'startup.milliseconds',
    description: 'ledger start-up (open store and tree) at the largest tree built (our own target, not the issue\'s)',
    op: '<',
    threshold: 1000,
    unit: 'ms',
    source: 'startup.milliseconds',
    read: (r) => r.startup?.milliseconds,
    note: (r) => (r.startup ? `at ${r.startup.treeSize.toLocaleString('en-US')} entries` : undefined),
  },
];

/** Every target with its threshold, the measured value (null if not measured) and whether it is met. */
export function targets(results: BenchResults): Target[] {
  return SPECS.map(({ read, note, ...spec }) => {
    const v = read(results);
    const measured = v === undefined || !Number.isFinite(v) ? null : v;
    const met = measured !== null && (spec.op === '>=' ? measured >= spec.threshold : spec.op === '<=' ? measured <= spec.threshold : measured < spec.threshold);
    const n = note?.(results);
    return { ...spec, measured, met, ...(n !== undefined && { note: n }) };
  });
}

const OPS = { '>=': '≥', '<=': '≤', '<': '<' } as const;

/** The README's markdown table of targets. */
export function targetsTable(list: readonly Target[]): string {
  const rows = list.map((t) => {
    const value = t.measured === null ? 'not measured' : `${t.measured.toLocaleString('en-US')} ${t.unit}`;
    return `| ${t.description} | ${OPS[t.op]} ${t.threshold} ${t.unit} | ${value}${t.note ? ` (${t.note})` : ''} | ${t.met ? 'met' : '**not met**'} |`;
  });
  return ['| target | threshold | measured | |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
