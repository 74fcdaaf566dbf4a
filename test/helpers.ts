import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger, type LedgerOptions } from '../src/ledger/ledger.js';
import { type NoteSigner, type NoteVerifier } from '../src/log/index.js';
import { ed25519NoteSigner, ed25519NoteVerifier } from '../src/crypto/node.js';
import { LevelLogStore } from '../src/store/level.js';
import type { LogStore } from '../src/store/store.js';

export const ORIGIN = 'test.pedigree.local/log';

export async function tempDir(prefix = 'pedigree-test-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function logKeys(origin = ORIGIN): { signer: NoteSigner; verifier: NoteVerifier } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { signer: ed25519NoteSigner(origin, privateKey), verifier: ed25519NoteVerifier(origin, publicKey) };
}

export interface TestLedger {
  ledger: Ledger;
  store: LogStore;
  verifier: NoteVerifier;
  dir: string;
  cleanup: () => Promise<void>;
}

/** A ledger on a real LevelDB in a fresh temporary directory. */
export async function levelLedger(options: Partial<LedgerOptions> = {}): Promise<TestLedger> {
  const dir = await tempDir();
  const store = await LevelLogStore.open(join(dir.path, 'db'));
  const keys = logKeys();
  const ledger = await Ledger.open({ store, signer: keys.signer, ...options });
  return {
    ledger,
    store,
    verifier: keys.verifier,
    dir: dir.path,
    cleanup: async () => {
      await ledger.close().catch(() => undefined);
      await dir.remove();
    },
  };
}

/** Distinct, deterministic entries. */
export function entry(i: number, tag = 'e'): Uint8Array {
  return new TextEncoder().encode(`${tag}-${i}`);
}

export async function appendMany(ledger: Ledger, count: number, start = 0, tag = 'e'): Promise<number[]> {
  const results = await Promise.all(Array.from({ length: count }, (_, i) => ledger.append({ data: entry(start + i, tag) })));
  return results.map((r) => r.index);
}

export interface TestNode {
  dir: string;
  ledger: Ledger;
  attestations: import('../src/attest/service.js').AttestationService;
  devices: import('../src/provenance/device.js').DeviceService;
  server: import('../src/server/http.js').RunningServer;
  url: string;
  verifier: NoteVerifier;
  adminKey: import('node:crypto').KeyObject;
  cleanup: () => Promise<void>;
}

/** A whole node through the real composition root: data dir, LevelDB, ledger, attestations, HTTP. */
export async function startNode(options: { maxBodyBytes?: number; maxBundleBytes?: number; maxDeviceEntries?: number; maxPerSubject?: number; sequencer?: LedgerOptions['sequencer']; indexing?: boolean; clock?: () => number; dir?: string } = {}): Promise<TestNode> {
  const { initDataDir, adminKeyPath } = await import('../src/config/datadir.js');
  const { openLedger } = await import('../src/app.js');
  const { startServer } = await import('../src/server/http.js');
  const { readPrivateKey } = await import('../src/keys.js');
  const { createPublicKey } = await import('node:crypto');
  // On an existing data directory (`dir`): opened as it is, and kept when the node stops.
  const dir = options.dir !== undefined ? { path: options.dir, remove: async () => undefined } : await tempDir();
  if (options.dir === undefined) await initDataDir(dir.path, ORIGIN);
  const opened = await openLedger(dir.path, {
    ...(options.sequencer && { sequencer: options.sequencer }),
    ...(options.maxBundleBytes && { maxBundleBytes: options.maxBundleBytes }),
    ...(options.maxDeviceEntries && { maxDeviceEntries: options.maxDeviceEntries }),
    ...(options.maxPerSubject && { maxPerSubject: options.maxPerSubject }),
    ...(options.indexing === false && { indexing: false as const }),
    ...(options.clock && { clock: options.clock }),
  });
  const server = await startServer({
    ledger: opened.ledger,
    attestations: opened.attestations,
    devices: opened.devices,
    ...(options.maxBodyBytes && { maxBodyBytes: options.maxBodyBytes }),
    logError: () => undefined,
  });
  return {
    dir: dir.path,
    ledger: opened.ledger,
    attestations: opened.attestations,
    devices: opened.devices,
    server,
    url: server.url,
    verifier: ed25519NoteVerifier(ORIGIN, createPublicKey(opened.dataDir.config.logPublicKey)),
    adminKey: await readPrivateKey(adminKeyPath(dir.path)),
    cleanup: async () => {
      await server.close();
      await opened.ledger.close().catch(() => undefined);
      await dir.remove();
    },
  };
}

/**
 * 'VALID' when `f` returns, else the `code` of what it threw. With `only`, anything else thrown
 * is rethrown, so a crash fails the test instead of passing as a refusal.
 */
export function outcomeCode(f: () => unknown, only?: abstract new (...args: never[]) => Error): string {
  try {
    f();
    return 'VALID';
  } catch (e) {
    if (only && !(e instanceof only)) throw e;
    return (e as { code: string }).code;
  }
}

/** The message of what `f` throws ('' when it returns). */
export function messageOf(f: () => unknown): string {
  try {
    f();
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}
