/**
 * kill -9 at random moments: after each restart every acknowledged index holds its entry, the
 * root recomputed from all entries equals the checkpoint's, and the new checkpoint is
 * consistent with every checkpoint seen before the crash.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { leafHash, openCheckpoint, rootFromLeafHashes, verifyConsistency } from '../../src/log/index.js';
import { ed25519NoteSigner, ed25519NoteVerifier } from '../../src/crypto/node.js';
import { LevelLogStore } from '../../src/store/level.js';
import { tempDir } from '../helpers.js';

const ORIGIN = 'crash.pedigree.local/log';
const CHILD = join(import.meta.dirname, '..', 'fixtures', 'crash-child.ts');
const ROUNDS = 12;

interface RoundOutput {
  acks: Map<number, string>;
  checkpoints: string[];
}

function runAndKill(dir: string, tag: string, killAfterMs: number): Promise<RoundOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, ORIGIN, tag], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: RoundOutput = { acks: new Map(), checkpoints: [] };
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'READY' && !timer) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        else if (kind === 'ACK') out.acks.set(Number(a), b!);
        else if (kind === 'CP') out.checkpoints.push(Buffer.from(a!, 'base64').toString());
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own: ${stderr}`));
      else resolve(out);
    });
  });
}

describe('crash safety', () => {
  it(`loses no acknowledged entry across ${ROUNDS} SIGKILLs at random moments`, async () => {
    const dir = await tempDir();
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(dir.path, 'log.key'), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const verifier = ed25519NoteVerifier(ORIGIN, publicKey);
    const acked = new Map<number, string>();
    let totalAcks = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const out = await runAndKill(dir.path, `r${round}`, 20 + Math.floor(Math.random() * 400));
        totalAcks += out.acks.size;
        for (const [i, hex] of out.acks) acked.set(i, hex);

        const store = await LevelLogStore.open(join(dir.path, 'db'));
        const ledger = await Ledger.open({ store, signer: ed25519NoteSigner(ORIGIN, privateKey) });
        try {
          const cp = openCheckpoint(ledger.checkpoint, verifier);
          const entries = await ledger.entries(0, cp.size);
          expect(entries).toHaveLength(cp.size);
          for (const [i, hex] of acked) {
            expect(i).toBeLessThan(cp.size);
            expect(Buffer.from(entries[i]!.data).toString('hex')).toBe(hex);
          }
          expect(Buffer.from(rootFromLeafHashes(entries.map((e) => leafHash(e.data))))).toEqual(Buffer.from(cp.root));
          for (const seen of out.checkpoints) {
            const old = openCheckpoint(seen, verifier);
            if (old.size === 0) continue; // every tree extends the empty one
            expect(old.size).toBeLessThanOrEqual(cp.size);
            const proof = await ledger.consistencyProof(old.size, cp.size);
            verifyConsistency(old.size, cp.size, proof.hashes, old.root, cp.root);
          }
        } finally {
          await ledger.close();
        }
      }
      // The test means something only if the children really got work acknowledged.
      expect(totalAcks).toBeGreaterThan(ROUNDS * 20);
    } finally {
      await dir.remove();
    }
  }, 180_000);
});
