/**
 * `node --import tsx scripts/http-bench.ts [--seconds N] [--port P] [--profile DIR]`: what HTTP and
 * GraphQL cost, side by side in one run, on a real `pedigree serve` child process:
 *
 *   - a bare node:http server (another child process) answering the bytes the GraphQL
 *     `inclusionProof` query answers, and that query itself, at 64 in flight;
 *   - GET /checkpoint (no GraphQL) at 64 in flight;
 *   - ingest of pre-signed, distinct bundles: one per request (submitAttestation) at 1 and at 64
 *     in flight, and 100 per request (submitAttestations, 4 in flight), in bundles per second.
 *
 * Bundles are signed before any clock starts. With --profile DIR the ledger runs under
 * `node --cpu-prof` and writes its profile to DIR when it stops. Prints one JSON object.
 * Ports: P (the ledger, default 18740) and P+1 (the bare server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { numberArg, startServed } from './served.js';
import { signStatement } from '../src/attest/sign.js';
import { adminKeyPath, initDataDir } from '../src/config/datadir.js';
import { readPrivateKey } from '../src/keys.js';
import { componentStatement, party } from '../test/attest/fixtures.js';
import { register } from '../test/attest/fixtures.js';
import { tempDir } from '../test/helpers.js';

interface Run {
  requestsPerSec: number;
  p50: number;
  p99: number;
  /** Answers not 200, or 200 with GraphQL errors, plus socket errors and timeouts. */
  bad: number;
}

type Request = { method: string; path: string; headers?: Record<string, string>; body?: string };

async function cannon(url: string, connections: number, how: { duration: number } | { amount: number }, next: () => Request): Promise<Run & { seconds: number }> {
  let bad = 0;
  const t0 = performance.now();
  const r = (await autocannon({
    url,
    connections,
    ...how,
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => ({ ...req, ...next() }),
        onResponse: (status: number, body: string) => {
          if (status !== 200 || body.includes('"errors"') || body.includes('SubmissionError')) bad++;
        },
      },
    ],
  } as never)) as unknown as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; errors: number; timeouts: number };
  const seconds = (performance.now() - t0) / 1000;
  if (process.env.BENCH_DEBUG) process.stderr.write(`${connections} ${JSON.stringify(how)} ${seconds.toFixed(1)} s ${r.requests.total} bad ${bad}\n`);
  return { requestsPerSec: Math.round(r.requests.total / seconds), p50: r.latency.p50, p99: r.latency.p99, bad: bad + r.errors + r.timeouts, seconds };
}

/** A node:http server in its own process answering every request with `body`, as `type`, after reading the request. */
async function bareServer(port: number, type: string, body: string): Promise<ChildProcess> {
  const code = `
    const body = Buffer.from(process.env.BODY, 'utf8');
    require('node:http').createServer((req, res) => {
      req.on('data', () => {});
      req.on('end', () => { res.writeHead(200, { 'content-type': process.env.TYPE, 'content-length': body.length }); res.end(body); });
    }).listen(${port}, '127.0.0.1', () => process.stdout.write('ready\\n'));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BODY: body, TYPE: type } });
  await new Promise<void>((ok, fail) => {
    child.stdout!.once('data', () => ok());
    child.once('exit', (c) => fail(new Error(`the bare server exited (${c})`)));
  });
  return child;
}

const stop = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
};

export async function benchHttp(seconds = 10, port = 18740, profileDir?: string) {
  const dir = await tempDir('pedigree-http-bench-');
  const data = join(dir.path, 'data');
  await initDataDir(data, 'bench.pedigree.local/log');
  const url = `http://127.0.0.1:${port}`;
  const server = await startServed(data, port, profileDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(profileDir)] : []);
  let bare: ChildProcess | undefined;
  try {
    const supplier = party('bench-supplier');
    await register(url, await readPrivateKey(adminKeyPath(data)), supplier, ['supplier']);
    const counts = { one: 1000 * Math.ceil(seconds / 10), many: 8000 * Math.ceil(seconds / 10), batched: 10_000 * Math.ceil(seconds / 10) };
    let serial = 0;
    const sign = async (n: number) => {
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(await signStatement(componentStatement('bench-supplier', 'PS-100', [`SN${serial++}`]), supplier.privateKey));
      return out;
    };
    const json = { 'content-type': 'application/json' };
    const single = (b: unknown): Request => ({ method: 'POST', path: '/graphql', headers: json, body: JSON.stringify({ query: 'mutation ($b: JSON!) { submitAttestation(bundle: $b) { attestation { logIndex } duplicate } }', variables: { b } }) });
    const batch = (bs: unknown[]): Request => ({ method: 'POST', path: '/graphql', headers: json, body: JSON.stringify({ query: 'mutation ($b: [JSON!]!) { submitAttestations(bundles: $b) { __typename ... on SubmitAttestationPayload { attestation { logIndex } } ... on SubmissionError { code message } } }', variables: { b: bs } }) });
    const ones = (await sign(counts.one)).map(single);
    const manys = (await sign(counts.many)).map(single);
    const batchedBundles = await sign(counts.batched);
    const batches: Request[] = [];
    for (let i = 0; i < batchedBundles.length; i += 100) batches.push(batch(batchedBundles.slice(i, i + 100)));

    // Warm up, then the reads.
    const proofQuery: Request = { method: 'POST', path: '/graphql', headers: json, body: JSON.stringify({ query: 'query ($i: Int!) { inclusionProof(logIndex: $i) { logIndex treeSize rootHash leafHash hashes } }', variables: { i: 0 } }) };
    await cannon(url, 16, { duration: 2 }, () => proofQuery);
    const proofAnswer = await (await fetch(`${url}/graphql`, { method: 'POST', headers: json, body: proofQuery.body })).text();
    bare = await bareServer(port + 1, 'application/graphql-response+json; charset=utf-8', proofAnswer);
    await cannon(`http://127.0.0.1:${port + 1}`, 16, { duration: 1 }, () => proofQuery);
    // Rounds alternate between the two servers, so a busy machine weighs on both alike; each
    // side reports its median round.
    const bareRuns: Run[] = [];
    const proofRuns: Run[] = [];
    const checkpointRuns: Run[] = [];
    const round = Math.max(2, Math.round(seconds / 3));
    for (let i = 0; i < 3; i++) {
      bareRuns.push(await cannon(`http://127.0.0.1:${port + 1}`, 64, { duration: round }, () => proofQuery));
      proofRuns.push(await cannon(url, 64, { duration: round }, () => proofQuery));
      checkpointRuns.push(await cannon(url, 64, { duration: round }, () => ({ method: 'GET', path: '/checkpoint' })));
    }
    await stop(bare);
    const median = (runs: Run[]) => [...runs].sort((a, b) => a.requestsPerSec - b.requestsPerSec)[1]!;
    const ratios = proofRuns.map((r, i) => +(r.requestsPerSec / bareRuns[i]!.requestsPerSec).toFixed(3)).sort();
    const bareRun = median(bareRuns);
    const proof = median(proofRuns);
    const checkpoint = median(checkpointRuns);

    // Ingest: the same kind of bundle three ways.
    let i1 = 0;
    const one = await cannon(url, 1, { amount: ones.length }, () => ones[i1++]!);
    let i64 = 0;
    const many = await cannon(url, 64, { amount: manys.length }, () => manys[i64++]!);
    let ib = 0;
    const batched = await cannon(url, 4, { amount: batches.length }, () => batches[ib++]!);
    const perSec = (n: number, s: number) => Math.round(n / s);
    const result = {
      seconds,
      inclusionProof64: { bare: bareRun, graphql: proof, ratio: ratios[1], ratios },
      checkpoint64: { ...checkpoint, ratioToBare: +(checkpoint.requestsPerSec / bareRun.requestsPerSec).toFixed(3) },
      ingest: {
        single1: { bundlesPerSec: perSec(ones.length, one.seconds), p50: one.p50, p99: one.p99, bad: one.bad },
        single64: { bundlesPerSec: perSec(manys.length, many.seconds), p50: many.p50, p99: many.p99, bad: many.bad },
        batch100x4: { bundlesPerSec: perSec(batchedBundles.length, batched.seconds), p50: batched.p50, p99: batched.p99, bad: batched.bad },
      },
    };
    return { ...result, single64ToBatch: +(result.ingest.single64.bundlesPerSec / result.ingest.batch100x4.bundlesPerSec).toFixed(3) };
  } finally {
    if (bare) await stop(bare);
    await stop(server);
    await dir.remove();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--profile');
  const r = await benchHttp(numberArg('seconds', 10), numberArg('port', 18740), i > 0 ? process.argv[i + 1] : undefined);
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
