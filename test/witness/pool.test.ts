import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ed25519Raw } from '../../src/crypto/node.js';
import { cosign, cosignatureVerifierKey, parseCosignatureVerifierKey, verifyCosignatures } from '../../src/log/cosignature.js';
import { openCheckpoint, parseVerifierKey } from '../../src/log/index.js';
import { addCheckpoint, QuorumError, WitnessPool } from '../../src/witness/client.js';
import { checkCosignatureIndependently, noteBody, post, requestBody, testLog, testWitness, type TestLog, type TestWitness } from './fixtures.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(count = 2): Promise<{ log: TestLog; ws: TestWitness[] }> {
  const log = await testLog();
  cleanups.push(() => log.ledger.close());
  const ws: TestWitness[] = [];
  for (let i = 1; i <= count; i++) {
    const w = await testWitness([{ origin: log.origin, vkey: log.vkey }], `witness.example.org/w${i}`);
    cleanups.push(() => w.cleanup());
    ws.push(w);
  }
  return { log, ws };
}

/** A server on 127.0.0.1 answering with `handler`; closed after the test. */
async function fakeServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A port nothing listens on. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

function recordingProofs(log: TestLog): { calls: Array<[number, number]>; consistency: (a: number, b: number) => Promise<Uint8Array[]> } {
  const calls: Array<[number, number]> = [];
  return {
    calls,
    consistency: async (a, b) => {
      calls.push([a, b]);
      return log.proof(a, b);
    },
  };
}

describe('addCheckpoint (client)', () => {
  it('returns the cosignature lines, a 409 with the witness size, and failures without throwing', async () => {
    const { log, ws } = await setup(1);
    const w = ws[0]!;
    await log.append(4);
    const ok = await addCheckpoint(w.url, 0, [], log.ledger.checkpoint, { timeoutMs: 5000 });
    expect(ok.ok).toBe(true);
    if (!ok.ok) return;
    checkCosignatureIndependently(ok.cosignatures, noteBody(log.ledger.checkpoint), w.name, w.publicKey);
    await log.append(2);
    expect(await addCheckpoint(`${w.url}/`, 0, [], log.ledger.checkpoint)).toMatchObject({ ok: false, status: 409, conflictSize: 4 });
    expect(await addCheckpoint(`${w.url}/add-checkpoint`, 4, await log.proof(4), log.ledger.checkpoint)).toMatchObject({ ok: true });
    const stranger = await testLog('stranger.example.org/log');
    cleanups.push(() => stranger.ledger.close());
    expect(await addCheckpoint(w.url, 0, [], stranger.ledger.checkpoint)).toMatchObject({ ok: false, status: 404, message: expect.stringMatching(/unknown log origin/) });
    expect(await addCheckpoint(await deadUrl(), 0, [], log.ledger.checkpoint, { timeoutMs: 2000 })).toMatchObject({ ok: false, status: 0 });
    await expect(addCheckpoint(w.url, -1, [], log.ledger.checkpoint)).rejects.toThrow(/old size/);
  });
});

describe('WitnessPool', () => {
  it('collects every cosignature in parallel, appends them after the log signature, and proves growth from the last size', async () => {
    const { log, ws } = await setup(2);
    const proofs = recordingProofs(log);
    const pool = new WitnessPool({ witnesses: ws.map((w) => ({ url: w.url, vkey: w.vkey })), quorum: 2, consistency: proofs.consistency, timeoutMs: 5000 });
    await log.append(5);
    const first = await pool.cosign(log.ledger.checkpoint, 5);
    expect(first.witnesses).toEqual(['witness.example.org/w1', 'witness.example.org/w2']);
    expect(first.failures).toEqual([]);
    expect(first.note.startsWith(log.ledger.checkpoint)).toBe(true);
    expect(openCheckpoint(first.note, parseVerifierKey(log.vkey)).size).toBe(5);
    expect(verifyCosignatures(first.note, ws.map((w) => w.parsed)).map((v) => v.name)).toEqual(first.witnesses);
    const extra = first.note.slice(log.ledger.checkpoint.length).split(/(?<=\n)/);
    extra.forEach((line, i) => checkCosignatureIndependently(line, noteBody(log.ledger.checkpoint), ws[i]!.name, ws[i]!.publicKey));
    expect(proofs.calls).toEqual([]);

    await log.append(7);
    const second = await pool.cosign(log.ledger.checkpoint, 12);
    expect(second.witnesses).toHaveLength(2);
    expect(proofs.calls).toEqual([
      [5, 12],
      [5, 12],
    ]);
    expect(pool.knownSize('witness.example.org/w1')).toBe(12);
    expect(ws.map((w) => w.witness.latest(log.origin)?.size)).toEqual([12, 12]);
  });

  it('one witness down still yields the other one cosignature (quorum 1)', async () => {
    const { log, ws } = await setup(1);
    const pool = new WitnessPool({
      witnesses: [
        { url: await deadUrl(), vkey: cosignatureVerifierKey('witness.example.org/down', ed25519Raw(generateKeyPairSync('ed25519').publicKey)) },
        { url: ws[0]!.url, vkey: ws[0]!.vkey },
      ],
      quorum: 1,
      consistency: (a, b) => log.proof(a, b),
      timeoutMs: 5000,
    });
    await log.append(3);
    const r = await pool.cosign(log.ledger.checkpoint, 3);
    expect(r.witnesses).toEqual(['witness.example.org/w1']);
    expect(r.failures).toEqual([expect.objectContaining({ name: 'witness.example.org/down' })]);
    expect(verifyCosignatures(r.note, [ws[0]!.parsed])).toHaveLength(1);
    expect(openCheckpoint(r.note, parseVerifierKey(log.vkey)).size).toBe(3);
  });

  it('a witness that never answers times out without holding up the others', async () => {
    const { log, ws } = await setup(1);
    const hanging = await fakeServer(() => undefined); // accepts, reads nothing, never answers
    const pool = new WitnessPool({
      witnesses: [
        { url: hanging, vkey: cosignatureVerifierKey('witness.example.org/slow', ed25519Raw(generateKeyPairSync('ed25519').publicKey)) },
        { url: ws[0]!.url, vkey: ws[0]!.vkey },
      ],
      quorum: 1,
      consistency: (a, b) => log.proof(a, b),
      timeoutMs: 300,
    });
    await log.append(2);
    const started = Date.now();
    const r = await pool.cosign(log.ledger.checkpoint, 2);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.witnesses).toEqual(['witness.example.org/w1']);
    expect(r.failures).toEqual([expect.objectContaining({ name: 'witness.example.org/slow', message: expect.stringMatching(/no answer within 300 ms/) })]);
  });

  it('throws a QuorumError, with what it collected, when too few cosign', async () => {
    const { log, ws } = await setup(1);
    const pool = new WitnessPool({
      witnesses: [
        { url: ws[0]!.url, vkey: ws[0]!.vkey },
        { url: await deadUrl(), vkey: cosignatureVerifierKey('witness.example.org/down', ed25519Raw(generateKeyPairSync('ed25519').publicKey)) },
      ],
      quorum: 2,
      consistency: (a, b) => log.proof(a, b),
      timeoutMs: 5000,
    });
    await log.append(2);
    const error = await pool.cosign(log.ledger.checkpoint, 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuorumError);
    const q = error as QuorumError;
    expect(q.code).toBe('WITNESS_QUORUM');
    expect(q.message).toMatch(/1 of 2 witnesses cosigned size 2; 2 needed/);
    expect(q.result.witnesses).toEqual(['witness.example.org/w1']);
    expect(verifyCosignatures(q.result.note, [ws[0]!.parsed])).toHaveLength(1);
  });

  it('resyncs after a 409: retries once from the size the witness reports, with the proof from there', async () => {
    const { log, ws } = await setup(1);
    const w = ws[0]!;
    await log.append(5);
    expect((await post(w.url, requestBody(0, [], log.ledger.checkpoint))).status).toBe(200); // cosigned elsewhere
    const proofs = recordingProofs(log);
    const pool = new WitnessPool({ witnesses: [{ url: w.url, vkey: w.vkey }], quorum: 1, consistency: proofs.consistency, timeoutMs: 5000 });
    expect(pool.knownSize(w.name)).toBe(0);
    await log.append(4);
    const r = await pool.cosign(log.ledger.checkpoint, 9);
    expect(r.witnesses).toEqual([w.name]);
    expect(proofs.calls).toEqual([[5, 9]]);
    expect(pool.knownSize(w.name)).toBe(9);
    expect(w.witness.latest(log.origin)?.size).toBe(9);
  });

  it('does not retry forever: a witness ahead of this checkpoint fails after one 409', async () => {
    const { log, ws } = await setup(1);
    const w = ws[0]!;
    await log.append(3);
    const older = log.ledger.checkpoint;
    await log.append(3);
    expect((await post(w.url, requestBody(0, [], log.ledger.checkpoint))).status).toBe(200);
    const pool = new WitnessPool({ witnesses: [{ url: w.url, vkey: w.vkey }], quorum: 0, consistency: (a, b) => log.proof(a, b), timeoutMs: 5000 });
    const r = await pool.cosign(older, 3);
    expect(r.witnesses).toEqual([]);
    expect(r.note).toBe(older);
    expect(r.failures).toEqual([expect.objectContaining({ message: expect.stringMatching(/already cosigned size 6, beyond 3/) })]);
  });

  it('appends nothing a witness returns that does not verify against its key', async () => {
    const { log } = await setup(0);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const name = 'witness.example.org/liar';
    const raw = ed25519Raw(publicKey);
    await log.append(2);
    const otherLog = await testLog(log.origin);
    cleanups.push(() => otherLog.ledger.close());
    await otherLog.append(3);
    // Right name and key ID, but a cosignature over another checkpoint.
    const wrongBody = cosign(noteBody(otherLog.ledger.checkpoint), name, raw, (m) => new Uint8Array(cryptoSign(null, m, privateKey)), 1700000000);
    const liar = await fakeServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(wrongBody);
    });
    const junk = await fakeServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('I cosign everything\n');
    });
    const vkey = cosignatureVerifierKey(name, raw);
    const pool = new WitnessPool({
      witnesses: [
        { url: liar, vkey },
        { url: junk, vkey: cosignatureVerifierKey('witness.example.org/junk', raw) },
      ],
      quorum: 0,
      consistency: (a, b) => log.proof(a, b),
      timeoutMs: 5000,
    });
    const r = await pool.cosign(log.ledger.checkpoint, 2);
    expect(r.witnesses).toEqual([]);
    expect(r.note).toBe(log.ledger.checkpoint);
    expect(r.failures.map((f) => f.message)).toEqual([expect.stringMatching(/no valid cosignature by witness.example.org\/liar/), expect.stringMatching(/not note signature lines/)]);
    expect(verifyCosignatures(`${noteBody(log.ledger.checkpoint)}\n${wrongBody}`, [parseCosignatureVerifierKey(vkey)])).toEqual([]);
  });

  it('checks its configuration and the size it is given', async () => {
    const { log, ws } = await setup(1);
    const witnesses = [{ url: ws[0]!.url, vkey: ws[0]!.vkey }];
    const consistency = (a: number, b: number) => log.proof(a, b);
    expect(() => new WitnessPool({ witnesses, quorum: 2, consistency })).toThrow(/quorum/);
    expect(() => new WitnessPool({ witnesses: [...witnesses, ...witnesses], quorum: 1, consistency })).toThrow(/share a name/);
    expect(() => new WitnessPool({ witnesses: [{ url: ws[0]!.url, vkey: log.vkey }], quorum: 1, consistency })).toThrow(/type 0x04/);
    await log.append(2);
    await expect(new WitnessPool({ witnesses, quorum: 1, consistency }).cosign(log.ledger.checkpoint, 3)).rejects.toThrow(/size is 2, not 3/);
  });
});
