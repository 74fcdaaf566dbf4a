/**
 * Composition root: wires the data directory, the store (LevelDB, or PostgreSQL), the log signer and the ledger.
 */
import { Ledger } from './ledger/ledger.js';
import { ed25519NoteSigner, useNativeCrypto } from './crypto/node.js';
import { LevelLogStore } from './store/level.js';
import type { LogStore } from './store/store.js';
import { loadDataDir, logKeyHistory, type DataDir } from './config/datadir.js';
import type { SequencerOptions } from './ledger/sequencer.js';
import { AttestationService, type AttestationServiceOptions } from './attest/service.js';
import { DeviceService } from './provenance/device.js';

export interface OpenedLedger {
  readonly dataDir: DataDir;
  readonly ledger: Ledger;
  readonly attestations: AttestationService;
  readonly devices: DeviceService;
  /** The store's raw contents at one instant, for backups while serving (src/store/backup.ts). */
  readonly snapshot?: () => AsyncIterable<Array<[Uint8Array, Uint8Array]>>;
}

export interface OpenOptions {
  readonly sequencer?: Partial<SequencerOptions>;
  readonly maxBundleBytes?: number;
  /** Overrides how many statements one signer may make about one subject (tests). */
  readonly maxPerSubject?: number;
  /** Overrides how many usable entries one device query may gather (tests). */
  readonly maxDeviceEntries?: number;
  /** false: file nothing in the verifiable index (bench only, to measure its cost). */
  readonly indexing?: boolean;
  /** The time (ms since the epoch) for integration, ingestion checks and evaluation (tests run it in other years). */
  readonly clock?: () => number;
  /** A PostgreSQL URL (postgres://…) to keep the log in instead of the data directory's LevelDB. */
  readonly store?: string;
  /** A store already open (a PostgreSQL one holding the writer lock, or following the writer). */
  readonly logStore?: LogStore;
  /** The data directory already loaded (a follower reopens its view often). */
  readonly dataDir?: DataDir;
}

/** The attestation service over `ledger`, with this data directory's keys and their history. */
export function openAttestations(ledger: Ledger, dataDir: DataDir, extra: Partial<AttestationServiceOptions> = {}): Promise<AttestationService> {
  return AttestationService.open({ ledger, logKey: dataDir.logKey, logKeys: logKeyHistory(dataDir.config), adminPublicKeyPem: dataDir.config.adminPublicKey, createdAt: dataDir.config.createdAt, ...extra });
}

/**
 * A PostgreSQL store for this data directory's ledger: bound to it by its origin and first log
 * key (which a key rotation does not change), as the writer (`writer`, or a connection already
 * holding the lock) or as a follower that writes nothing (`readOnly`). Loaded only when used.
 */
export async function openPostgresStore(dataDir: DataDir, url: string, mode: { writer?: boolean; writerClient?: import('pg').Client; readOnly?: boolean }): Promise<import('./store/postgres.js').PostgresLogStore> {
  const { PostgresLogStore } = await import('./store/postgres.js');
  return PostgresLogStore.open(url, { ...mode, ledger: { origin: dataDir.config.origin, logPublicKey: logKeyHistory(dataDir.config)[0]!.publicKey } });
}

export async function openLedger(dir: string, options: OpenOptions = {}): Promise<OpenedLedger> {
  useNativeCrypto();
  const dataDir = options.dataDir ?? (await loadDataDir(dir));
  // PostgreSQL when a store URL is given (loaded only then); else the data directory's LevelDB.
  const store: LogStore =
    options.logStore ??
    (options.store !== undefined && /^postgres(ql)?:\/\//.test(options.store)
      ? await openPostgresStore(dataDir, options.store, { writer: true })
      : await LevelLogStore.open(dataDir.dbPath));
  try {
    const signer = ed25519NoteSigner(dataDir.config.origin, dataDir.logKey);
    const clock = options.clock ? { clock: options.clock } : {};
    const ledger = await Ledger.open({ store, signer, ...clock, ...(options.sequencer ? { sequencer: options.sequencer } : {}), ...(options.indexing === false && { indexing: false }) });
    const attestations = await openAttestations(ledger, dataDir, {
      ...clock,
      ...(options.maxBundleBytes ? { maxBundleBytes: options.maxBundleBytes } : {}),
      ...(options.maxPerSubject ? { maxPerSubject: options.maxPerSubject } : {}),
    });
    const devices = new DeviceService({
      attestations,
      ledger,
      logSigner: signer,
      adminPublicKeyPem: dataDir.config.adminPublicKey,
      ...clock,
      ...(options.maxDeviceEntries ? { maxDeviceEntries: options.maxDeviceEntries } : {}),
    });
    // A LevelDB store streams consistent snapshots for `pedigree backup`; PostgreSQL has its own tools (pg_dump).
    return { dataDir, ledger, attestations, devices, ...(store instanceof LevelLogStore && { snapshot: () => store.snapshot() }) };
  } catch (e) {
    // A store handed in stays open: its owner closes it.
    if (!options.logStore) await store.close();
    throw e;
  }
}
