import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import { EMPTY_ROOT, openCheckpoint, parseVerifierKey, sha256, signCheckpoint, signNote } from '../../src/log/index.js';
import { verifyCosignatures } from '../../src/log/cosignature.js';
import { MAX_PROOF_LINES, MAX_REQUEST_BYTES, Witness } from '../../src/witness/witness.js';
import { checkCosignatureIndependently, noteBody, post, requestBody, testLog, testWitness, type TestLog, type TestWitness } from './fixtures.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(): Promise<{ log: TestLog; w: TestWitness }> {
  const log = await testLog();
  const w = await testWitness([{ origin: log.origin, vkey: log.vkey }]);
  cleanups.push(() => log.ledger.close(), () => w.cleanup());
  return { log, w };
}

describe('add-checkpoint: 200', () => {
  it('cosigns a first checkpoint from old size 0, then each consistent successor; node:crypto verifies the cosignature', async () => {
    const { log, w } = await setup();
    await log.append(5);
    const first = log.ledger.checkpoint;
    const r1 = await post(w.url, requestBody(0, [], first));
    expect(r1.status, r1.text).toBe(200);
    expect(r1.type).toMatch(/^text\/plain/);
    expect(r1.text.split('\n')).toHaveLength(2); // one line, newline-terminated
    const t1 = checkCosignatureIndependently(r1.text, noteBody(first), w.name, w.publicKey);
    expect(Math.abs(t1 - Date.now() / 1000)).toBeLessThan(60);

    await log.append(300);
    const second = log.ledger.checkpoint;
    const r2 = await post(w.url, requestBody(5, await log.proof(5), second));
    expect(r2.status, r2.text).toBe(200);
    expect(checkCosignatureIndependently(r2.text, noteBody(second), w.name, w.publicKey)).toBeGreaterThanOrEqual(t1);
    // The project's own verifier agrees, and the log's signature is untouched next to it.
    const cosigned = `${second}${r2.text}`;
    expect(verifyCosignatures(cosigned, [w.parsed]).map((v) => v.name)).toEqual([w.name]);
    expect(openCheckpoint(cosigned, parseVerifierKey(log.vkey)).size).toBe(305);
    expect(w.witness.latest(log.origin)?.size).toBe(305);
  });

  it('cosigns the same checkpoint again (old size = size, same root, empty proof)', async () => {
    const { log, w } = await setup();
    await log.append(3);
    expect((await post(w.url, requestBody(0, [], log.ledger.checkpoint))).status).toBe(200);
    const again = await post(w.url, requestBody(3, [], log.ledger.checkpoint));
    expect(again.status, again.text).toBe(200);
    checkCosignatureIndependently(again.text, noteBody(log.ledger.checkpoint), w.name, w.publicKey);
  });

  it('cosigns the empty tree, and grows from it without a proof', async () => {
    const { log, w } = await setup();
    expect(log.ledger.size).toBe(0);
    expect((await post(w.url, requestBody(0, [], log.ledger.checkpoint))).status).toBe(200);
    await log.append(2);
    expect((await post(w.url, requestBody(0, [], log.ledger.checkpoint))).status).toBe(200);
  });

  it('persists the state, mode 0600, before answering, and serves the cosigned checkpoint to monitors', async () => {
    const { log, w } = await setup();
    await log.append(4);
    const r = await post(w.url, requestBody(0, [], log.ledger.checkpoint));
    expect(r.status).toBe(200);
    expect((await stat(w.statePath)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(w.statePath, 'utf8'));
    expect(saved.logs).toEqual([expect.objectContaining({ origin: log.origin, size: 4, root: Buffer.from(log.ledger.state.root).toString('base64') })]);
    const hash = createHash('sha256').update(log.origin).digest('hex');
    const res = await fetch(`${w.url}/${hash}/checkpoint`);
    expect(res.status).toBe(200);
    const served = await res.text();
    expect(served).toBe(`${log.ledger.checkpoint}${r.text}`);
    expect((await fetch(`${w.url}/${'0'.repeat(64)}/checkpoint`)).status).toBe(404);
  });
});

describe('add-checkpoint: refusals with the spec status', () => {
  it('409 with the stored size as text/x.tlog.size when the old size is not the latest cosigned', async () => {
    const { log, w } = await setup();
    await log.append(7);
    expect((await post(w.url, requestBody(0, [], log.ledger.checkpoint))).status).toBe(200);
    await log.append(3);
    const stale = await post(w.url, requestBody(0, [], log.ledger.checkpoint));
    expect(stale).toEqual({ status: 409, type: 'text/x.tlog.size', text: '7\n' });
    const ahead = await post(w.url, requestBody(8, await log.proof(8), log.ledger.checkpoint));
    expect(ahead).toEqual({ status: 409, type: 'text/x.tlog.size', text: '7\n' });
    // A witness that never saw the log answers 409 with 0 to a non-zero old size.
    const other = await testLog('other.example.org/log');
    const w2 = await testWitness([{ origin: other.origin, vkey: other.vkey }]);
    cleanups.push(() => other.ledger.close(), () => w2.cleanup());
    await other.append(4);
    await other.append(4);
    expect(await post(w2.url, requestBody(4, await other.proof(4), other.ledger.checkpoint))).toEqual({ status: 409, type: 'text/x.tlog.size', text: '0\n' });
  });

  it('422 when the consistency proof does not verify', async () => {
    const { log, w } = await setup();
    await log.append(6);
    expect((await post(w.url, requestBody(0, [], log.ledger.checkpoint))).status).toBe(200);
    await log.append(10);
    const proof = await log.proof(6);
    const bad = proof.map((h, i) => (i === 1 ? Uint8Array.from(h, (b, j) => (j === 0 ? b ^ 1 : b)) : h));
    const r = await post(w.url, requestBody(6, bad, log.ledger.checkpoint));
    expect(r.status, r.text).toBe(422);
    expect((await post(w.url, requestBody(6, proof.slice(0, -1), log.ledger.checkpoint))).status).toBe(422);
    expect((await post(w.url, requestBody(6, [...proof, proof[0]!], log.ledger.checkpoint))).status).toBe(422);
    expect(w.witness.latest(log.origin)?.size).toBe(6);
    // The good proof still works: nothing was recorded from the refusals.
    expect((await post(w.url, requestBody(6, proof, log.ledger.checkpoint))).status).toBe(200);
  });

  it('422 for a proof from old size 0, and for a size-0 checkpoint that is not the empty tree', async () => {
    const { log, w } = await setup();
    await log.append(4);
    const r = await post(w.url, requestBody(0, [sha256()], log.ledger.checkpoint));
    expect(r.status, r.text).toBe(422);
    const zero = signCheckpoint({ origin: log.origin, size: 0, root: sha256(new TextEncoder().encode('not empty')), extensions: [] }, log.signer);
    expect((await post(w.url, requestBody(0, [], zero))).status).toBe(422);
    const empty = signCheckpoint({ origin: log.origin, size: 0, root: EMPTY_ROOT, extensions: [] }, log.signer);
    expect((await post(w.url, requestBody(0, [], empty))).status).toBe(200);
  });

  it('403 when the checkpoint is not signed by the known log key, or a trusted signature fails', async () => {
    const { log, w } = await setup();
    await log.append(2);
    const impostor = ed25519NoteSigner(log.origin, generateKeyPairSync('ed25519').privateKey);
    const forged = signNote(noteBody(log.ledger.checkpoint), [impostor]);
    const r = await post(w.url, requestBody(0, [], forged));
    expect(r.status, r.text).toBe(403);
    expect(r.text).toMatch(/not signed by a trusted key/);
    // The genuine key ID with a broken signature.
    const sigLine = log.ledger.checkpoint.split('\n\n')[1]!;
    const raw = Buffer.from(sigLine.trim().split(' ')[2]!, 'base64');
    raw[10]! ^= 1;
    const broken = `${noteBody(log.ledger.checkpoint)}\n\u2014 ${log.origin} ${raw.toString('base64')}\n`;
    expect((await post(w.url, requestBody(0, [], broken))).status).toBe(403);
    // A genuine signature next to unknown ones is fine.
    expect((await post(w.url, requestBody(0, [], `${log.ledger.checkpoint}${forged.split('\n\n')[1]!.replace(log.origin, 'someone.else')}`))).status).toBe(200);
    expect(w.witness.latest(log.origin)?.size).toBe(2);
  });

  it('404 for an unknown log origin', async () => {
    const { w } = await setup();
    const stranger = await testLog('stranger.example.org/log');
    cleanups.push(() => stranger.ledger.close());
    await stranger.append(1);
    const r = await post(w.url, requestBody(0, [], stranger.ledger.checkpoint));
    expect(r.status).toBe(404);
    expect(r.text).toMatch(/unknown log origin "stranger.example.org\/log"/);
  });

  it('400 for malformed requests, with a clear text message', async () => {
    const { log, w } = await setup();
    await log.append(3);
    const cp = log.ledger.checkpoint;
    const hash = `${Buffer.alloc(32, 1).toString('base64')}\n`;
    const cases: Array<[string, string | Uint8Array]> = [
      ['empty body', ''],
      ['no old line', `\n${cp}`],
      ['leading zero', `old 03\n\n${cp}`],
      ['negative', `old -1\n\n${cp}`],
      ['no space', `old\t3\n\n${cp}`],
      ['huge old size', `old 99999999999999999\n\n${cp}`],
      ['old size above the checkpoint size', `old 4\n\n${cp}`],
      ['proof line not base64', `old 0\nnot base64!\n\n${cp}`],
      ['proof hash of 31 bytes', `old 0\n${Buffer.alloc(31).toString('base64')}\n\n${cp}`],
      ['too many proof lines', `old 0\n${hash.repeat(MAX_PROOF_LINES + 1)}\n${cp}`],
      ['no empty line', `old 0\n${cp.replace('\n\n', '\n')}`],
      ['not a signed note', 'old 0\n\nhello\n'],
      ['not a checkpoint', `old 0\n\n${signNote('hello\n', [log.signer])}`],
      ['CRLF', requestBody(0, [], cp).replaceAll('\n', '\r\n')],
      ['invalid UTF-8', Buffer.concat([Buffer.from('old 0\n\n'), Buffer.from([0xff, 0xfe]), Buffer.from(cp)])],
    ];
    for (const [what, body] of cases) {
      const r = await post(w.url, body);
      expect(r.status, `${what}: ${r.text}`).toBe(400);
      expect(r.type, what).toMatch(/^text\/plain/);
      expect(r.text.length, what).toBeGreaterThan(5);
    }
    // 63 proof lines is the limit, not an error of form (the proof is then simply wrong: 409 here).
    expect((await post(w.url, `old 1\n${hash.repeat(MAX_PROOF_LINES)}\n${cp}`)).status).toBe(409);
    expect(w.witness.latest(log.origin)).toBeUndefined();
  });

  it('413 for a body over 1 MiB; 405 and 404 for other methods and paths', async () => {
    const { w } = await setup();
    const big = await post(w.url, `old 0\n\n${'a'.repeat(MAX_REQUEST_BYTES)}`);
    expect(big.status).toBe(413);
    const get = await fetch(`${w.url}/add-checkpoint`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await post(w.url, 'old 0\n\n', '/checkpoint')).status).toBe(404);
    expect((await fetch(`${w.url}/`)).status).toBe(404);
    expect((await post(w.url, 'x', `/${'0'.repeat(64)}/checkpoint`)).status).toBe(405);
  });
});

describe('forks and rollbacks', () => {
  it('refuses a forked history signed with the same log key, at the same size and later, after cosigning the honest one', async () => {
    const { log: honest, w } = await setup();
    const fork = await testLog(honest.origin, honest.privateKey);
    cleanups.push(() => fork.ledger.close());
    await honest.append(5, 'honest');
    await fork.append(5, 'forked');
    expect(honest.ledger.checkpoint).not.toBe(fork.ledger.checkpoint);
    expect((await post(w.url, requestBody(0, [], honest.ledger.checkpoint))).status).toBe(200);

    // Same size, other root: a fork, refused.
    const same = await post(w.url, requestBody(5, [], fork.ledger.checkpoint));
    expect(same.status, same.text).toBe(422);
    expect(same.text).toMatch(/fork/);
    const forkAt5 = fork.ledger.checkpoint;
    // Later size, with the fork's own (internally valid) proof: it does not lead from the honest root.
    await fork.append(4, 'forked');
    const later = await post(w.url, requestBody(5, await fork.proof(5), fork.ledger.checkpoint));
    expect(later.status, later.text).toBe(422);
    // Pretending to start over does not work either.
    expect(await post(w.url, requestBody(0, [], fork.ledger.checkpoint))).toMatchObject({ status: 409, text: '5\n' });
    expect(w.refused.map((r) => r.status)).toEqual([422, 422]);
    // Both refusals are reported with the signed checkpoint: evidence of the fork.
    expect(w.refused.map((r) => r.checkpoint)).toEqual([forkAt5, fork.ledger.checkpoint]);

    // The honest log carries on.
    await honest.append(4, 'honest');
    expect((await post(w.url, requestBody(5, await honest.proof(5), honest.ledger.checkpoint))).status).toBe(200);
    expect(w.witness.latest(honest.origin)?.size).toBe(9);
  });

  it('refuses another checkpoint body at the cosigned size (same tree, another index root): a split view', async () => {
    const { log, w } = await setup();
    await log.append(4);
    expect((await post(w.url, requestBody(0, [], log.ledger.checkpoint))).status).toBe(200);
    const cp = openCheckpoint(log.ledger.checkpoint, parseVerifierKey(log.vkey));
    const other = signCheckpoint({ ...cp, extensions: [`pedigree/vindex/v2 ${Buffer.alloc(32, 9).toString('base64')}`] }, log.signer);
    const r = await post(w.url, requestBody(4, [], other));
    expect(r.status, r.text).toBe(422);
    expect(r.text).toMatch(/different checkpoint body/);
    // The very checkpoint it cosigned is cosigned again (a fresh time), so the log can keep it fresh.
    expect((await post(w.url, requestBody(4, [], log.ledger.checkpoint))).status).toBe(200);
  });

  it('never rolls back: an older checkpoint after a newer one is a 409', async () => {
    const { log, w } = await setup();
    await log.append(3);
    const old = log.ledger.checkpoint;
    expect((await post(w.url, requestBody(0, [], old))).status).toBe(200);
    await log.append(3);
    expect((await post(w.url, requestBody(3, await log.proof(3), log.ledger.checkpoint))).status).toBe(200);
    expect(await post(w.url, requestBody(3, [], old))).toMatchObject({ status: 409, text: '6\n' });
    expect(await post(w.url, requestBody(6, [], old))).toMatchObject({ status: 400 });
  });

  it('serializes concurrent requests for a log: of ten racing from the same old size exactly one wins', async () => {
    const { log, w } = await setup();
    await log.append(2);
    expect((await post(w.url, requestBody(0, [], log.ledger.checkpoint))).status).toBe(200);
    const checkpoints: string[] = [];
    const proofs: Uint8Array[][] = [];
    for (let i = 0; i < 10; i++) {
      await log.append(1);
      checkpoints.push(log.ledger.checkpoint);
      proofs.push(await log.proof(2));
    }
    const answers = await Promise.all(checkpoints.map((cp, i) => post(w.url, requestBody(2, proofs[i]!, cp))));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const won = answers.findIndex((a) => a.status === 200);
    expect(answers.filter((a) => a.status === 409).every((a) => a.text === `${won + 3}\n`)).toBe(true);
    expect(w.witness.latest(log.origin)?.size).toBe(won + 3);
  });
});

describe('state across restarts', () => {
  it('remembers the latest cosigned checkpoint: stale old sizes get 409, a fork is still refused', async () => {
    const { log, w } = await setup();
    const fork = await testLog(log.origin, log.privateKey);
    cleanups.push(() => fork.ledger.close());
    await log.append(8, 'honest');
    await fork.append(8, 'forked');
    expect((await post(w.url, requestBody(0, [], log.ledger.checkpoint))).status).toBe(200);
    await w.restart();
    expect(w.witness.latest(log.origin)?.size).toBe(8);
    expect(await post(w.url, requestBody(0, [], log.ledger.checkpoint))).toEqual({ status: 409, type: 'text/x.tlog.size', text: '8\n' });
    expect((await post(w.url, requestBody(8, [], fork.ledger.checkpoint))).status).toBe(422);
    await log.append(2, 'honest');
    const r = await post(w.url, requestBody(8, await log.proof(8), log.ledger.checkpoint));
    expect(r.status).toBe(200);
    checkCosignatureIndependently(r.text, noteBody(log.ledger.checkpoint), w.name, w.publicKey);
  });

  it('refuses to start on a corrupt state file rather than forget', async () => {
    const { log, w } = await setup();
    await writeFile(w.statePath, '{"version": 1, "logs": [{"origin": "x", "size": -1}]}');
    await expect(Witness.open({ name: w.name, privateKey: w.privateKey, logs: [{ origin: log.origin, vkey: log.vkey }], statePath: w.statePath })).rejects.toMatchObject({ code: 'WITNESS_STATE_CORRUPT' });
    await writeFile(w.statePath, 'not json');
    await expect(Witness.open({ name: w.name, privateKey: w.privateKey, logs: [], statePath: w.statePath })).rejects.toMatchObject({ code: 'WITNESS_STATE_CORRUPT' });
  });

  it('refuses a bad configuration: a P-256 key, a bad name, a bad log key', async () => {
    const { log, w } = await setup();
    const statePath = `${w.statePath}.other`;
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await expect(Witness.open({ name: w.name, privateKey: p256, logs: [], statePath })).rejects.toMatchObject({ code: 'WITNESS_CONFIG_INVALID' });
    await expect(Witness.open({ name: 'bad name', privateKey: w.privateKey, logs: [], statePath })).rejects.toMatchObject({ code: 'WITNESS_CONFIG_INVALID' });
    await expect(Witness.open({ name: w.name, privateKey: w.privateKey, logs: [{ origin: log.origin, vkey: w.vkey }], statePath })).rejects.toMatchObject({ code: 'WITNESS_CONFIG_INVALID' });
  });
});
