/**
 * `npm run soak [-- --seconds N --submitters K]`: concurrent submitters against a real ledger
 * (a `pedigree serve` child process) that is SIGKILLed at random moments and restarted, for N
 * seconds. Then: every acknowledged entry is in the log with the identity it was acknowledged
 * with, every checkpoint seen is consistent with the final one, and `pedigree audit` finds the
 * data directory consistent. Prints one JSON object.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { BIN, numberArg, startServed } from './served.js';
import { join } from 'node:path';
import { signStatement } from '../src/attest/sign.js';
import { adminKeyPath, initDataDir } from '../src/config/datadir.js';
import { readPrivateKey } from '../src/keys.js';
import { fromBase64, parseCheckpoint, parseNote, verifyConsistency } from '../src/log/index.js';
import { componentStatement, party, registration } from '../test/attest/fixtures.js';
import { tempDir } from '../test/helpers.js';

export interface SoakResult {
  seconds: number;
  kills: number;
  acknowledged: number;
  lost: number;
  checkpointsSeen: number;
  inconsistentCheckpoints: number;
  finalSize: number;
  auditConsistent: boolean;
}

const SUBMIT = 'mutation ($b: JSON!) { submitAttestation(bundle: $b) { attestation { logIndex attestationId } } }';

export async function runSoak(seconds = 60, submitters = 8, port = 18990 + Math.floor(Math.random() * 9)): Promise<SoakResult> {
  const dir = await tempDir('pedigree-soak-');
  const data = join(dir.path, 'data');
  await initDataDir(data, 'soak.pedigree.local/log');
  const url = `http://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;
  const start = async () => {
    server = await startServed(data, port);
  };
  const kill = async () => {
    const s = server!;
    server = undefined;
    const gone = new Promise((r) => s.once('exit', r));
    s.kill('SIGKILL');
    await gone;
  };
  const post = async (query: string, variables: Record<string, unknown>) => {
    const r = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return (await r.json()) as { data?: any; errors?: Array<{ message: string }> };
  };
  try {
    await start();
    const supplier = party('soak-supplier');
    const reg = await post(SUBMIT, { b: await signStatement(registration(supplier, ['supplier']), await readPrivateKey(adminKeyPath(data))) });
    if (reg.errors) throw new Error(`registration failed: ${reg.errors[0]!.message}`);
    const acknowledged: Array<{ logIndex: number; id: string }> = [];
    const checkpoints: string[] = [];
    let kills = 0;
    let serial = 0;
    const end = Date.now() + seconds * 1000;
    const submitter = async () => {
      while (Date.now() < end) {
        const b = await signStatement(componentStatement('soak-supplier', 'P', [`S${serial++}`]), supplier.privateKey);
        try {
          const r = await post(SUBMIT, { b });
          const a = r.data?.submitAttestation?.attestation;
          if (a) acknowledged.push({ logIndex: a.logIndex, id: a.attestationId });
        } catch {
          await new Promise((r) => setTimeout(r, 50)); // the server is down: try again shortly
        }
      }
    };
    const killer = async () => {
      while (Date.now() < end - 500) {
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 1200));
        try {
          checkpoints.push(await (await fetch(`${url}/checkpoint`)).text());
        } catch {
          // down
        }
        if (Date.now() >= end - 500) break;
        await kill();
        kills++;
        await start();
      }
    };
    await Promise.all([killer(), ...Array.from({ length: submitters }, submitter)]);
    // The final state, after one more kill and restart.
    await kill();
    kills++;
    await start();
    const final = await (await fetch(`${url}/checkpoint`)).text();
    const fin = parseCheckpoint(parseNote(final).text);
    let lost = 0;
    for (let i = 0; i < acknowledged.length; i += 25) {
      const chunk = acknowledged.slice(i, i + 25);
      const q = `{ ${chunk.map((a, k) => `a${k}: attestation(logIndex: ${a.logIndex}) { attestationId }`).join(' ')} }`;
      const r = await post(q, {});
      if (r.errors) throw new Error(`reading acknowledged entries failed: ${r.errors[0]!.message}`);
      chunk.forEach((a, k) => {
        if (r.data?.[`a${k}`]?.attestationId !== a.id) lost++;
      });
    }
    let inconsistent = 0;
    for (const note of checkpoints) {
      const cp = parseCheckpoint(parseNote(note).text);
      if (cp.size === 0 || cp.size > fin.size) {
        if (cp.size > fin.size) inconsistent++;
        continue;
      }
      const r = await post('query ($f: Int!, $t: Int!) { consistencyProof(fromSize: $f, toSize: $t) { hashes } }', { f: cp.size, t: fin.size });
      try {
        verifyConsistency(cp.size, fin.size, (r.data?.consistencyProof?.hashes ?? []).map((h: string) => fromBase64(h)), cp.root, fin.root);
      } catch {
        inconsistent++;
      }
    }
    await kill();
    const audit = spawnSync(process.execPath, [BIN, 'audit', '--data', data, '--json'], { encoding: 'utf8' });
    const audited = JSON.parse(audit.stdout || '{}') as { consistent?: boolean; entries?: number };
    return { seconds, kills, acknowledged: acknowledged.length, lost, checkpointsSeen: checkpoints.length, inconsistentCheckpoints: inconsistent, finalSize: fin.size, auditConsistent: audited.consistent === true && audited.entries === fin.size };
  } finally {
    if (server) await kill().catch(() => undefined);
    await dir.remove();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runSoak(numberArg('seconds', 60), numberArg('submitters', 8));
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  process.exitCode = r.lost === 0 && r.inconsistentCheckpoints === 0 && r.auditConsistent ? 0 : 1;
}
