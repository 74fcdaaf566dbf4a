/**
 * Real pieces for the witness tests: logs are Ledgers (in-memory store, real Ed25519 keys), the
 * witness runs behind its real HTTP server on 127.0.0.1, its state in a temporary directory.
 */
import { createHash, generateKeyPairSync, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { ed25519NoteSigner, ed25519Raw, verifierKeyString } from '../../src/crypto/node.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { parseCosignatureVerifierKey, type CosignatureVerifierKey } from '../../src/log/cosignature.js';
import type { NoteSigner } from '../../src/log/index.js';
import { MemoryLogStore } from '../../src/store/memory.js';
import { startWitnessServer, type RunningWitnessServer } from '../../src/witness/http.js';
import { Witness, type RefusedCheckpoint, type WitnessLogConfig } from '../../src/witness/witness.js';
import { entry, tempDir } from '../helpers.js';

export interface TestLog {
  origin: string;
  ledger: Ledger;
  signer: NoteSigner;
  privateKey: KeyObject;
  vkey: string;
  append(count: number, tag?: string): Promise<void>;
  proof(from: number, to?: number): Promise<Uint8Array[]>;
}

let tagCounter = 0;

/** A log on a fresh in-memory store; pass `privateKey` to sign with another log's key (a fork). */
export async function testLog(origin = 'example.org/log', privateKey?: KeyObject): Promise<TestLog> {
  const key = privateKey ?? generateKeyPairSync('ed25519').privateKey;
  const signer = ed25519NoteSigner(origin, key);
  const ledger = await Ledger.open({ store: new MemoryLogStore(), signer });
  let next = 0;
  const tag = `t${tagCounter++}`;
  return {
    origin,
    ledger,
    signer,
    privateKey: key,
    vkey: verifierKeyString(origin, key),
    async append(count: number, t = tag) {
      await Promise.all(Array.from({ length: count }, () => ledger.append({ data: entry(next++, t) })));
    },
    async proof(from: number, to = ledger.size) {
      return (await ledger.consistencyProof(from, to)).hashes;
    },
  };
}

export interface TestWitness {
  name: string;
  dir: string;
  statePath: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  vkey: string;
  parsed: CosignatureVerifierKey;
  witness: Witness;
  server: RunningWitnessServer;
  url: string;
  refused: RefusedCheckpoint[];
  /** Stops the server and opens the witness again from its key and state file. */
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function testWitness(logs: WitnessLogConfig[], name = 'witness.example.org/w1'): Promise<TestWitness> {
  const dir = await tempDir('pedigree-witness-');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const statePath = join(dir.path, 'state.json');
  const refused: RefusedCheckpoint[] = [];
  const open = async () => {
    const witness = await Witness.open({ name, privateKey, logs, statePath, onRefused: (e) => refused.push(e) });
    const server = await startWitnessServer({ witness, host: '127.0.0.1', port: 0, logError: () => undefined });
    return { witness, server };
  };
  const first = await open();
  const t: TestWitness = {
    name,
    dir: dir.path,
    statePath,
    privateKey,
    publicKey,
    vkey: first.witness.vkey,
    parsed: parseCosignatureVerifierKey(first.witness.vkey),
    witness: first.witness,
    server: first.server,
    url: first.server.url,
    refused,
    async restart() {
      await t.server.close();
      const again = await open();
      t.witness = again.witness;
      t.server = again.server;
      t.url = again.server.url;
    },
    async cleanup() {
      await t.server.close();
      await dir.remove();
    },
  };
  return t;
}

export interface Answer {
  status: number;
  type: string;
  text: string;
}

export async function post(url: string, body: string | Uint8Array, path = '/add-checkpoint'): Promise<Answer> {
  const res = await fetch(`${url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** The add-checkpoint body, built by hand as the spec describes it. */
export function requestBody(oldSize: number, proof: readonly Uint8Array[], note: string): string {
  return `old ${oldSize}\n${proof.map((h) => `${Buffer.from(h).toString('base64')}\n`).join('')}\n${note}`;
}

/** The note text of a signed note (everything before the blank line ahead of the signatures). */
export function noteBody(note: string): string {
  return note.slice(0, note.lastIndexOf('\n\n') + 1);
}

/**
 * Checks a cosignature line with node:crypto only: the key ID, the timestamp and the Ed25519
 * signature over the exact message bytes. Returns the timestamp.
 */
export function checkCosignatureIndependently(line: string, body: string, name: string, publicKey: KeyObject): number {
  const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})\n$/u.exec(line);
  if (!m || m[1] !== name) throw new Error(`not a signature line by ${name}: ${line}`);
  const raw = Buffer.from(m[2]!, 'base64');
  if (raw.length !== 76) throw new Error(`cosignature is ${raw.length} bytes, not 76`);
  const keyId = createHash('sha256').update(`${name}\n`, 'utf8').update(Buffer.from([0x04])).update(ed25519Raw(publicKey)).digest().subarray(0, 4);
  if (!raw.subarray(0, 4).equals(keyId)) throw new Error('wrong key ID');
  const time = raw.readBigUInt64BE(4);
  const message = Buffer.concat([Buffer.from(`cosignature/v1\ntime ${time}\n`, 'utf8'), Buffer.from(body, 'utf8')]);
  if (!cryptoVerify(null, message, publicKey, raw.subarray(12))) throw new Error('signature does not verify');
  return Number(time);
}
