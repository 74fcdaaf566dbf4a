/**
 * Several `pedigree serve` processes on one PostgreSQL database. Exactly one sequences: the one
 * holding the database's writer lock (a session advisory lock, so it goes with the process: a
 * killed writer's connection closes and the lock is free again). It announces where it serves.
 * The others follow: they serve reads from the database, reopening their view when the stored
 * tree grows, and hand every GraphQL mutation to the writer as it came (a client sees the writer's
 * answer, or a retryable LEADER_UNAVAILABLE while the writer changes hands). Each follower tries
 * the lock twice a second and, once it holds it, opens the ledger as the writer from what the
 * database holds (every acknowledged entry is there: a writer acknowledges only committed
 * transactions) and announces itself. Indexes are never assigned twice: only the lock holder
 * writes, and every integration checks the stored size inside its transaction.
 */
import { loadDataDir } from '../config/datadir.js';
import { openLedger, openPostgresStore, type OpenedLedger } from '../app.js';
import { PostgresLogStore } from '../store/postgres.js';

/** How often a follower looks at the stored tree and at the writer lock. */
const FOLLOW_INTERVAL_MS = 500;

export interface SharedLedger {
  readonly role: () => 'writer' | 'follower';
  /** The ledger being served now (it changes as a follower refreshes, and when it takes over). */
  readonly current: () => OpenedLedger;
  stop(): Promise<void>;
}

export interface SharedOptions {
  readonly maxBundleBytes: number;
  /** Installs what to serve: the ledger, and for a follower how to hand mutations to the writer. */
  readonly serve: (opened: OpenedLedger, forwardWrites?: (body: Buffer) => Promise<{ status: number; contentType: string; text: string }>) => void;
  /** Where this server can be reached by the others (announced when it writes). */
  readonly advertise: () => string;
  readonly say: (text: string) => void;
}

export async function openShared(dir: string, url: string, o: SharedOptions): Promise<SharedLedger> {
  const dataDir = await loadDataDir(dir);
  const lock = await PostgresLogStore.tryWriterLock(url);
  if (lock) {
    const store = await openPostgresStore(dataDir, url, { writerClient: lock });
    const opened = await openLedger(dir, { logStore: store, dataDir, maxBundleBytes: o.maxBundleBytes });
    o.serve(opened);
    await store.setLeader(o.advertise());
    return { role: () => 'writer', current: () => opened, stop: () => opened.ledger.close() };
  }

  const reader = await openPostgresStore(dataDir, url, { readOnly: true });
  let role: 'writer' | 'follower' = 'follower';
  let stopped = false;
  try {
    // The writer makes the first tree; a follower only ever reads one.
    while ((await reader.readTree()) === undefined) await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS));
  } catch (e) {
    await reader.close();
    throw e;
  }
  let current = await openLedger(dir, { logStore: reader, dataDir, maxBundleBytes: o.maxBundleBytes });
  const forwardWrites = async (body: Buffer) => {
    const leader = await reader.leader();
    if (leader === undefined) throw new Error('no writer has announced itself');
    const r = await fetch(`${leader}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body.toString('utf8'), signal: AbortSignal.timeout(30_000) });
    return { status: r.status, contentType: r.headers.get('content-type') ?? 'application/json', text: await r.text() };
  };
  o.serve(current, forwardWrites);
  o.say(`Following the writer of this database (${(await reader.leader()) ?? 'not announced yet'}): serving reads, handing submissions to it\n`);

  let busy = false;
  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      const lockNow = await PostgresLogStore.tryWriterLock(url).catch(() => undefined);
      if (lockNow) {
        // Take over: the ledger opened as the writer, from what the database holds.
        const store = await openPostgresStore(dataDir, url, { writerClient: lockNow });
        const opened = await openLedger(dir, { logStore: store, dataDir, maxBundleBytes: o.maxBundleBytes });
        o.serve(opened);
        await store.setLeader(o.advertise());
        current = opened;
        role = 'writer';
        clearInterval(timer);
        await reader.close().catch(() => undefined);
        o.say(`Took over as the writer at tree size ${opened.ledger.size}\n`);
        return;
      }
      if ((await reader.storedSize()) !== current.ledger.size) {
        current = await openLedger(dir, { logStore: reader, dataDir, maxBundleBytes: o.maxBundleBytes });
        o.serve(current, forwardWrites);
      }
    } catch {
      // The database is away for a moment: the next tick tries again.
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), FOLLOW_INTERVAL_MS);
  return {
    role: () => role,
    current: () => current,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (role === 'writer') await current.ledger.close();
      else await reader.close();
    },
  };
}
