/**
 * `npm run load [-- --seconds N --connections C]`: a mixed read/write load on a real ledger
 * (a `pedigree serve` child process on 127.0.0.1) driven by autocannon, then the checks that
 * matter: no error answers other than the intended 429/503, every acknowledged write in the
 * log, and `pedigree audit` consistent. Prints one JSON object (and writes bench/load.json).
 *
 * The mix per request: 40 % GraphQL device verdicts, 20 % checkpoints, 20 % tiles, 20 % signed
 * submissions (each a new component attestation by a registered supplier).
 */
import { spawnSync } from 'node:child_process';
import { BIN, numberArg, startServed } from './served.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { signStatement } from '../src/attest/sign.js';
import { adminKeyPath, initDataDir } from '../src/config/datadir.js';
import { readPrivateKey } from '../src/keys.js';
import { componentStatement, party, registration } from '../test/attest/fixtures.js';
import { tempDir } from '../test/helpers.js';

export interface LoadResult {
  seconds: number;
  connections: number;
  requests: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p99: number; max: number };
  writesAcknowledged: number;
  /** Answers that were neither 2xx nor an intended 429/503. */
  errors: number;
  throttled: { '429': number; '503': number };
  treeSize: number;
  auditConsistent: boolean;
}


export async function runLoad(seconds = 60, connections = 32, port = 18900 + Math.floor(Math.random() * 90)): Promise<LoadResult> {
  const dir = await tempDir('pedigree-load-');
  const data = join(dir.path, 'data');
  await initDataDir(data, 'load.pedigree.local/log');
  const url = `http://127.0.0.1:${port}`;
  const server = await startServed(data, port);
  try {
    const gql = (query: string, variables: Record<string, unknown> = {}) => JSON.stringify({ query, variables });
    const post = async (body: string) => (await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json() as Promise<{ errors?: unknown[] }>;
    // A registered supplier, and one signed submission per write the run can make.
    const supplier = party('load-supplier');
    const reg = await post(gql('mutation ($b: JSON!) { submitAttestation(bundle: $b) { attestation { logIndex } } }', { b: await signStatement(registration(supplier, ['supplier']), await readPrivateKey(adminKeyPath(data))) }));
    if (reg.errors) throw new Error(`registration failed: ${JSON.stringify(reg.errors)}`);
    const writes = Math.ceil(seconds * 400);
    const bundles: string[] = [];
    for (let i = 0; i < writes; i++) bundles.push(gql('mutation ($b: JSON!) { submitAttestation(bundle: $b) { attestation { logIndex } } }', { b: await signStatement(componentStatement('load-supplier', 'P', [`S${i}`]), supplier.privateKey) }));
    let next = 0;
    let acknowledged = 0;
    let highest = -1;
    const verdict = gql('query { device(udi: "(01)09506000134352(21)LOAD-1") { verify { verdict } } }');
    const result = await autocannon({
      url,
      connections,
      duration: seconds,
      requests: [
        {
          setupRequest: (req: Record<string, unknown>) => {
            const pick = (next + Math.floor(Math.random() * 5)) % 5;
            if (pick < 2) return { ...req, method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body: verdict };
            if (pick === 2) return { ...req, method: 'GET', path: '/checkpoint' };
            if (pick === 3) return { ...req, method: 'GET', path: '/tile/0/000.p/1' };
            const body = bundles[next++ % bundles.length]!;
            return { ...req, method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body };
          },
          onResponse: (status: number, body: string) => {
            const m = status === 200 ? /"logIndex":(\d+)/.exec(body) : null;
            if (m) {
              acknowledged++;
              highest = Math.max(highest, Number(m[1]));
            }
          },
        },
      ],
    } as never);
    const r = result as unknown as { requests: { total: number; average: number }; latency: { p50: number; p99: number; max: number }; statusCodeStats: Record<string, { count: number }>; non2xx: number; errors: number; timeouts: number };
    const count = (code: string) => r.statusCodeStats[code]?.count ?? 0;
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    const audit = spawnSync(process.execPath, [BIN, 'audit', '--data', data, '--json'], { encoding: 'utf8' });
    const audited = JSON.parse(audit.stdout || "{}") as { consistent?: boolean; entries?: number; problem?: unknown };
    if (audited.consistent !== true) process.stderr.write(`audit: ${audit.stdout}${audit.stderr}\n`);
    return {
      seconds,
      connections,
      requests: r.requests.total,
      requestsPerSec: Math.round(r.requests.average),
      latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
      writesAcknowledged: acknowledged,
      errors: r.non2xx - count('429') - count('503') + r.errors + r.timeouts,
      throttled: { '429': count('429'), '503': count('503') },
      treeSize: audited.entries ?? 0,
      // Every acknowledged write is in the log the audit found consistent.
      auditConsistent: audited.consistent === true && highest < (audited.entries ?? 0),
    };
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
    await dir.remove();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runLoad(numberArg('seconds', 60), numberArg('connections', 32));
  writeFileSync(join(import.meta.dirname, '..', 'bench', 'load.json'), `${JSON.stringify(r, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  process.exitCode = r.errors === 0 && r.auditConsistent ? 0 : 1;
}
