/**
 * Signature checks for ingestion on worker threads, so they run beside the main thread's
 * sequencing and storage instead of in turn with it. A check is exactly the one the DSSE
 * verifier of @sigstore/verify makes: `crypto.verify` with the key's default digest over the
 * envelope's pre-authentication encoding (PAE), and a failure of any kind is "does not verify".
 *
 * Checks asked for in the same turn of the event loop travel together (one message per worker).
 * Workers are started on first use and hold the process open only while checks are in flight.
 * `PEDIGREE_VERIFY_THREADS` sets the number of workers (default: the machine's cores; 0 checks
 * on the main thread).
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface SignatureJob {
  /** The DSSE pre-authentication encoding of the envelope. */
  readonly pae: Uint8Array;
  readonly signature: Uint8Array;
  /** Names the key for the worker's cache; the same ID must always mean the same DER. */
  readonly keyId: string;
  /** The signer's public key, DER SPKI. */
  readonly spki: Uint8Array;
}

/** Jobs per message at most; a burst of submissions is spread over the workers in slices. */
const SLICE = 64;
/** Key objects one worker keeps (registered keys are few; this bounds a flood of unknown ones). */
const KEY_CACHE = 4096;

// The worker's code, evaluated as CommonJS, so it runs the same from sources and from compiled output.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const keys = new Map();
function keyOf(id, spki) {
  let k = keys.get(id);
  if (!k) {
    if (keys.size >= ${KEY_CACHE}) keys.delete(keys.keys().next().value);
    k = crypto.createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    keys.set(id, k);
  }
  return k;
}
parentPort.on('message', ({ id, jobs }) => {
  const out = new Uint8Array(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs[i];
    try {
      out[i] = crypto.verify(undefined, j.pae, keyOf(j.keyId, j.spki), j.signature) ? 1 : 0;
    } catch {
      out[i] = 0;
    }
  }
  parentPort.postMessage({ id, out });
});
`;

interface Slot {
  readonly worker: Worker;
  /** Messages sent and not yet answered. */
  inFlight: number;
}

interface Pending {
  readonly jobs: SignatureJob[];
  readonly resolve: Array<(ok: boolean) => void>;
}

export class SignaturePool {
  private readonly slots: Slot[] = [];
  private readonly waiting = new Map<number, { slot: Slot; resolve: Array<(ok: boolean) => void>; reject: (e: unknown) => void }>();
  private queue: Pending = { jobs: [], resolve: [] };
  private flushing = false;
  private nextId = 0;
  private failed: Error | undefined;
  /** Key objects for checks made on the main thread (no workers). */
  private readonly keys = new Map<string, KeyObject>();

  constructor(readonly threads: number) {}

  /** True when the signature verifies over `pae` with the key; false otherwise, whatever the reason. */
  check(job: SignatureJob): Promise<boolean> {
    if (this.threads === 0 || this.failed) return Promise.resolve(this.checkHere(job));
    return new Promise((resolve) => {
      this.queue.jobs.push(job);
      this.queue.resolve.push(resolve);
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private checkHere(job: SignatureJob): boolean {
    let key = this.keys.get(job.keyId);
    try {
      if (!key) {
        if (this.keys.size >= KEY_CACHE) this.keys.delete(this.keys.keys().next().value!);
        key = createPublicKey({ key: Buffer.from(job.spki), format: 'der', type: 'spki' });
        this.keys.set(job.keyId, key);
      }
      return cryptoVerify(undefined, job.pae, key, job.signature);
    } catch {
      return false;
    }
  }

  private flush(): void {
    this.flushing = false;
    const { jobs, resolve } = this.queue;
    this.queue = { jobs: [], resolve: [] };
    for (let i = 0; i < jobs.length; i += SLICE) {
      const slot = this.leastBusy();
      if (!slot) {
        // No worker could start: check here, so ingestion goes on (slower).
        jobs.slice(i).forEach((j, k) => resolve[i + k]!(this.checkHere(j)));
        return;
      }
      const id = this.nextId++;
      const part = resolve.slice(i, i + SLICE);
      this.waiting.set(id, {
        slot,
        resolve: part,
        // A worker that dies takes its checks with it; they are made here instead.
        reject: () => jobs.slice(i, i + SLICE).forEach((j, k) => part[k]!(this.checkHere(j))),
      });
      if (slot.inFlight++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, jobs: jobs.slice(i, i + SLICE) });
    }
  }

  private leastBusy(): Slot | undefined {
    if (this.slots.length < this.threads && !this.failed) {
      try {
        return this.start();
      } catch (e) {
        this.failed = e as Error;
        return this.slots[0];
      }
    }
    let best = this.slots[0];
    for (const s of this.slots) if (best && s.inFlight < best.inFlight) best = s;
    return best;
  }

  private start(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const slot: Slot = { worker, inFlight: 0 };
    worker.unref();
    worker.on('message', ({ id, out }: { id: number; out: Uint8Array }) => {
      const w = this.waiting.get(id);
      if (!w) return;
      this.waiting.delete(id);
      if (--slot.inFlight === 0) worker.unref();
      w.resolve.forEach((r, i) => r(out[i] === 1));
    });
    const lost = (e: unknown) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      for (const [id, w] of this.waiting) {
        if (w.slot !== slot) continue;
        this.waiting.delete(id);
        w.reject(e);
      }
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.slots.push(slot);
    return slot;
  }

  /** Stops the workers; checks still asked for afterwards run on the main thread. */
  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    this.failed ??= new Error('closed');
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

function threadsFromEnv(): number {
  const v = process.env.PEDIGREE_VERIFY_THREADS;
  if (v === undefined || v === '') return availableParallelism();
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 && n <= 64 ? n : availableParallelism();
}

let shared: SignaturePool | undefined;

/** The process's pool (created on first use). */
export function signaturePool(): SignaturePool {
  shared ??= new SignaturePool(threadsFromEnv());
  return shared;
}
