/** What the bench modules share: an in-process node (no listening socket), statistics, signing pools. */
import type { KeyObject } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { signStatement } from '../src/attest/sign.js';
import { componentStatement, party, type Party } from '../test/attest/fixtures.js';
import { tempDir } from '../test/helpers.js';

export const BENCH_ORIGIN = 'bench.pedigree.local/log';

export interface BenchNode {
  dir: string;
  ledger: import('../src/ledger/ledger.js').Ledger;
  attestations: import('../src/attest/service.js').AttestationService;
  devices: import('../src/provenance/device.js').DeviceService;
  adminKey: KeyObject;
  /** Closes the ledger; the data directory stays until cleanup. */
  close: () => Promise<void>;
  cleanup: () => Promise<void>;
}

/**
 * A whole node through the real composition root (data dir, LevelDB, ledger, attestations,
 * devices), without HTTP; with `store` (a postgres:// URL), the log is kept in PostgreSQL instead.
 */
export async function openNode(options: { indexing?: boolean; maxBundleBytes?: number; store?: string } = {}): Promise<BenchNode> {
  const { initDataDir, adminKeyPath } = await import('../src/config/datadir.js');
  const { openLedger } = await import('../src/app.js');
  const { readPrivateKey } = await import('../src/keys.js');
  const dir = await tempDir('pedigree-bench-');
  await initDataDir(dir.path, BENCH_ORIGIN);
  const opened = await openLedger(dir.path, {
    ...(options.indexing === false && { indexing: false as const }),
    ...(options.maxBundleBytes && { maxBundleBytes: options.maxBundleBytes }),
    ...(options.store !== undefined && { store: options.store }),
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await opened.ledger.close().catch(() => undefined);
  };
  return {
    dir: dir.path,
    ledger: opened.ledger,
    attestations: opened.attestations,
    devices: opened.devices,
    adminKey: await readPrivateKey(adminKeyPath(dir.path)),
    close,
    cleanup: async () => {
      await close();
      await dir.remove();
    },
  };
}

export function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** Events per second. */
export function perSec(n: number, ms: number): number {
  return Math.round((n / ms) * 1000);
}

/** The q-quantile (0..1) of the values, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export const round = (x: number, digits = 2): number => +x.toFixed(digits);

/** Total bytes of the files under a directory. */
export async function directoryBytes(path: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) total += await directoryBytes(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}

export const BENCH_SUPPLIER = 'bench-supplier';

/** The supplier whose component attestations the ingest benches submit. */
export function benchSupplier(): Party {
  return party(BENCH_SUPPLIER);
}

/**
 * `count` distinct signed component attestations (one part serial each), signed before any clock
 * starts: signing is the supplier's cost, not the ledger's. `tag` keeps pools distinct.
 */
export async function signComponents(supplier: Party, count: number, tag: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) out.push(await signStatement(componentStatement(BENCH_SUPPLIER, 'PS-100', [`${tag}-SN${i}`]), supplier.privateKey));
  return out;
}
