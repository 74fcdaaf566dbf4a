/**
 * Over HTTP: a `pedigree serve` child process (rate limit off: all load comes from one address)
 * and, beside it, a bare `node:http` child process answering the ledger's own recorded response
 * bytes (bare-server.ts), both driven by autocannon from this process with the same request
 * bodies at the same concurrencies. The load generator shares the machine's cores with the
 * server under test; that is unavoidable on one machine, and the same for both.
 *
 * - ingest: single submissions (`submitAttestation`), each request a distinct bundle signed
 *   before the clock starts (a repeated bundle is deduplicated and would be cheap), at each
 *   concurrency; batches (`submitAttestations`, 100 bundles a request);
 * - reads: the GraphQL `inclusionProof` query for random entries.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { signStatement } from '../src/attest/sign.js';
import { adminKeyPath, initDataDir } from '../src/config/datadir.js';
import { readPrivateKey } from '../src/keys.js';
import { registration, type Party } from '../test/attest/fixtures.js';
import { tempDir } from '../test/helpers.js';
import { startServed } from '../scripts/served.js';
import { BENCH_ORIGIN, round } from './common.js';

const SINGLE = 'mutation ($b: JSON!) { submitAttestation(bundle: $b) { attestation { logIndex } duplicate } }';
const BATCH = 'mutation ($b: [JSON!]!) { submitAttestations(bundles: $b) { ... on SubmitAttestationPayload { attestation { logIndex } duplicate } ... on SubmissionError { code } } }';
const PROOF = 'query ($i: Int!) { inclusionProof(logIndex: $i) { logIndex treeSize rootHash leafHash hashes } }';
const gql = (query: string, variables: Record<string, unknown>) => JSON.stringify({ query, variables });

export interface Cannon {
  concurrency: number;
  requests: number;
  seconds: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p99: number };
  /** Non-2xx answers, socket errors and timeouts. */
  errors: number;
}

/** autocannon POSTing the bodies in turn to /graphql: `amount` requests, or for `seconds`. */
export async function cannon(url: string, bodies: readonly string[], concurrency: number, stop: { amount: number } | { seconds: number }, onBody?: (body: string) => void): Promise<Cannon> {
  let next = 0;
  // autocannon notices that `amount` requests are done only at its next one-second tick, and its
  // duration includes that wait: the run is timed here, from the start to the last answer.
  const t0 = performance.now();
  let last = t0;
  const result = (await autocannon({
    url,
    connections: concurrency,
    ...('amount' in stop ? { amount: stop.amount } : { duration: stop.seconds }),
    timeout: 60,
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => ({ ...req, method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body: bodies[next++ % bodies.length] }),
        onResponse: (_status: number, body: string) => {
          last = performance.now();
          onBody?.(body);
        },
      },
    ],
  } as never)) as unknown as { requests: { total: number }; duration: number; latency: { p50: number; p99: number }; non2xx: number; errors: number; timeouts: number };
  const seconds = 'amount' in stop ? (last - t0) / 1000 : result.duration;
  return {
    concurrency,
    requests: result.requests.total,
    seconds: round(seconds, 3),
    requestsPerSec: Math.round(result.requests.total / seconds),
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    errors: result.non2xx + result.errors + result.timeouts,
  };
}

function startBare(port: number, routesFile: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'bare-server.ts'), String(port), routesFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`the bare server exited (${code}) before it served`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface HttpIngestRow {
  concurrency: number;
  requests: number;
  bundlesPerSec: number;
  latencyMs: { p50: number; p99: number };
  /** Failed requests, refused bundles and duplicates: all must be 0 for the row to count. */
  errors: number;
  bare: { requestsPerSec: number; latencyMs: { p50: number; p99: number } };
  /** Requests per second, ledger ÷ bare node:http answering the same bytes. */
  ratioToBare: number;
}

export interface HttpBenchResult {
  single: HttpIngestRow[];
  batch: Array<HttpIngestRow & { bundlesPerRequest: number }>;
  inclusionProof: { concurrency: number; treeSize: number; requestsPerSec: number; latencyMs: { p50: number; p99: number }; errors: number; bare: { requestsPerSec: number; latencyMs: { p50: number; p99: number } }; ratioToBare: number };
}

export interface HttpBenchOptions {
  /** Single-submission concurrencies and requests at each. */
  single: Array<{ concurrency: number; requests: number }>;
  /** Batch concurrencies and batches (of 100) at each. */
  batch: Array<{ concurrency: number; batches: number }>;
  proofConcurrency: number;
  /** How long each bare run and the inclusion-proof runs last. */
  seconds: number;
  /** Two ports in 18600-18699: the ledger's and the bare server's. */
  port: number;
}

/** `pools` gives distinct signed bundles by a supplier registered here: pools(n, tag). */
export async function benchHttp(opts: HttpBenchOptions, supplier: Party, pool: (count: number, tag: string) => Promise<unknown[]>, report: (msg: string) => void = () => undefined): Promise<HttpBenchResult> {
  const dir = await tempDir('pedigree-bench-http-');
  const data = join(dir.path, 'data');
  await initDataDir(data, BENCH_ORIGIN);
  const url = `http://127.0.0.1:${opts.port}`;
  const bareUrl = `http://127.0.0.1:${opts.port + 1}`;
  // Signed before any server starts.
  const singles = await Promise.all(opts.single.map(async (s) => (await pool(s.requests, `http-c${s.concurrency}`)).map((b) => gql(SINGLE, { b }))));
  const batches = await Promise.all(
    opts.batch.map(async (s) => {
      const bundles = await pool(s.batches * 100, `http-batch-c${s.concurrency}`);
      return Array.from({ length: s.batches }, (_, i) => gql(BATCH, { b: bundles.slice(i * 100, (i + 1) * 100) }));
    }),
  );
  const probes = await pool(101, 'http-probe');
  const warmSingles = (await pool(200, 'http-warm')).map((b) => gql(SINGLE, { b }));
  const warmBundles = await pool(200, 'http-warm-batch');
  const warmBatches = [gql(BATCH, { b: warmBundles.slice(0, 100) }), gql(BATCH, { b: warmBundles.slice(100) })];
  const server = await startServed(data, opts.port);
  let bare: ChildProcess | undefined;
  try {
    const post = async (body: string) => {
      const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await res.text();
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        if (!['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(k)) headers[k] = v;
      });
      if (res.status !== 200 || text.includes('"errors"')) throw new Error(`the ledger answered ${res.status}: ${text.slice(0, 300)}`);
      return { headers, body: text };
    };
    await post(gql(SINGLE, { b: await signStatement(registration(supplier, ['supplier']), await readPrivateKey(adminKeyPath(data))) }));
    // The bare server answers with what the ledger answered to one request of each kind.
    const routes = [
      { match: 'submitAttestations(', ...(await post(gql(BATCH, { b: probes.slice(1) }))) },
      { match: 'inclusionProof(', ...(await post(gql(PROOF, { i: 1 }))) },
      { match: 'submitAttestation(', ...(await post(gql(SINGLE, { b: probes[0] }))) },
    ];
    const routesFile = join(dir.path, 'routes.json');
    writeFileSync(routesFile, JSON.stringify(routes));
    bare = await startBare(opts.port + 1, routesFile);
    // Warm-up (not measured): both servers see each kind of request before the clock starts.
    await cannon(url, warmSingles, 16, { amount: warmSingles.length });
    await cannon(url, warmBatches, 2, { amount: warmBatches.length });
    await cannon(bareUrl, warmSingles, 16, { seconds: 1 });

    /** Counts bundles acknowledged as new entries in a response body. */
    const acknowledged = (body: string) => (body.match(/"logIndex":\d+\},"duplicate":false/g) ?? []).length;
    const row = async (bodies: string[], concurrency: number, perRequest: number): Promise<HttpIngestRow> => {
      let acks = 0;
      const ledger = await cannon(url, bodies, concurrency, { amount: bodies.length }, (b) => (acks += acknowledged(b)));
      const base = await cannon(bareUrl, bodies, concurrency, { seconds: opts.seconds });
      return {
        concurrency,
        requests: ledger.requests,
        bundlesPerSec: Math.round(acks / ledger.seconds),
        latencyMs: ledger.latencyMs,
        errors: ledger.errors + base.errors + (bodies.length * perRequest - acks),
        bare: { requestsPerSec: base.requestsPerSec, latencyMs: base.latencyMs },
        ratioToBare: round(ledger.requestsPerSec / base.requestsPerSec, 3),
      };
    };
    const single: HttpIngestRow[] = [];
    for (const [i, s] of opts.single.entries()) {
      single.push(await row(singles[i]!, s.concurrency, 1));
      report(`HTTP ingest, single, concurrency ${s.concurrency}: ${JSON.stringify(single[single.length - 1])}`);
    }
    const batch: HttpBenchResult['batch'] = [];
    for (const [i, s] of opts.batch.entries()) {
      batch.push({ ...(await row(batches[i]!, s.concurrency, 100)), bundlesPerRequest: 100 });
      report(`HTTP ingest, batches of 100, concurrency ${s.concurrency}: ${JSON.stringify(batch[batch.length - 1])}`);
    }
    // Inclusion proofs of random entries in the tree the ingest above built.
    const size = Number((JSON.parse((await post(gql(PROOF, { i: 0 }))).body) as { data: { inclusionProof: { treeSize: number } } }).data.inclusionProof.treeSize);
    const proofBodies = Array.from({ length: 1000 }, () => gql(PROOF, { i: Math.floor(Math.random() * size) }));
    const c = opts.proofConcurrency;
    await cannon(url, proofBodies, c, { seconds: 1 }); // warm-up
    const ledgerProofs = await cannon(url, proofBodies, c, { seconds: opts.seconds });
    const bareProofs = await cannon(bareUrl, proofBodies, c, { seconds: opts.seconds });
    const inclusionProof = {
      concurrency: c,
      treeSize: size,
      requestsPerSec: ledgerProofs.requestsPerSec,
      latencyMs: ledgerProofs.latencyMs,
      errors: ledgerProofs.errors + bareProofs.errors,
      bare: { requestsPerSec: bareProofs.requestsPerSec, latencyMs: bareProofs.latencyMs },
      ratioToBare: round(ledgerProofs.requestsPerSec / bareProofs.requestsPerSec, 3),
    };
    report(`HTTP inclusionProof query, concurrency ${c}: ${JSON.stringify(inclusionProof)}`);
    return { single, batch, inclusionProof };
  } finally {
    if (bare) await stop(bare);
    await stop(server);
    await dir.remove();
  }
}
