/**
 * The ledger's side of witnessing: after each integration it asks the configured witnesses to
 * cosign the new checkpoint (WitnessPool), and keeps the checkpoints that reached the quorum.
 * The ledger serves /checkpoint, lookups and evidence only on those, so what a hospital sees is
 * what the witnesses saw, and a witness that cosigned one history refuses another.
 *
 * Cosigning follows the latest checkpoint: while one round is out, later integrations only
 * mark it to run again, so a busy log is not held up by its witnesses. A round that misses the
 * quorum is retried on the next integration or after `retryMs`.
 */
import type { Ledger } from '../ledger/ledger.js';
import { WitnessPool, QuorumError, type PoolWitnessConfig } from './client.js';

export interface CosigningOptions {
  readonly witnesses: readonly PoolWitnessConfig[];
  readonly quorum: number;
  readonly timeoutMs?: number;
  readonly retryMs?: number;
  /**
   * How often the latest checkpoint is sent again while the log is idle (default 5 minutes), so
   * its cosignatures stay fresh: verifiers with a maximum age judge a package by the time its
   * witnesses last confirmed its checkpoint, not by the time the log says it issued it.
   */
  readonly refreshMs?: number;
  /** Told when a round misses the quorum (never with a secret). */
  readonly onShortfall?: (message: string) => void;
}

/** Cosigned checkpoints kept by size, for evidence built at a recent size. */
const KEEP = 256;

export class Cosigning {
  private readonly pool: WitnessPool;
  private readonly bySize = new Map<number, string>();
  private latestSize = -1;
  /** The largest size whose round missed the quorum: nobody waits for it to be cosigned. */
  private failedSize = -1;
  private running = false;
  private again = false;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly refresher: NodeJS.Timeout;
  private force = false;
  private idlers: Array<() => void> = [];
  private readonly waiters = new Set<() => void>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly ledger: Ledger,
    private readonly options: CosigningOptions,
  ) {
    this.pool = new WitnessPool({
      witnesses: options.witnesses,
      quorum: options.quorum,
      consistency: async (from, to) => (await ledger.consistencyProof(from, to)).hashes,
      ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    });
    this.unsubscribe = ledger.onIntegrated(() => this.kick());
    this.refresher = setInterval(() => this.refresh(), options.refreshMs ?? 5 * 60_000);
    this.refresher.unref();
    this.kick();
  }

  /** Sends the latest checkpoint to the witnesses again (even unchanged) for fresh cosignatures. */
  refresh(): Promise<void> {
    this.force = true;
    this.kick();
    return this.idle();
  }

  /** Resolves when no round is running or due. */
  private idle(): Promise<void> {
    if (!this.running && !this.again) return Promise.resolve();
    return new Promise((resolve) => this.idlers.push(resolve));
  }

  /** The latest checkpoint enough witnesses cosigned, or undefined before the first. */
  get latest(): string | undefined {
    return this.latestSize < 0 ? undefined : this.bySize.get(this.latestSize);
  }

  /**
   * The cosigned checkpoint of tree size `size`: waits (up to `timeoutMs`) until cosigning has
   * reached that size. Undefined at once when a round at or past that size missed the quorum,
   * and undefined when that size was passed over (the log moved on first) or the witnesses did
   * not answer in time: build again at a newer size, or answer WITNESSES_UNAVAILABLE.
   */
  async cosignedAt(size: number, timeoutMs = 10_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.latestSize < size && this.failedSize < size && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
    return this.bySize.get(size);
  }

  private kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.round().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.kick();
      } else {
        for (const done of this.idlers.splice(0)) done();
      }
    });
  }

  private async round(): Promise<void> {
    const note = this.ledger.checkpoint;
    const size = this.ledger.size;
    const force = this.force;
    this.force = false;
    if (size < this.latestSize || (size === this.latestSize && !force)) return;
    try {
      const r = await this.pool.cosign(note, size);
      this.bySize.set(size, r.note);
      this.latestSize = size;
      while (this.bySize.size > KEEP) this.bySize.delete(this.bySize.keys().next().value!);
      for (const w of [...this.waiters]) w();
    } catch (e) {
      const why = e instanceof QuorumError ? `${e.message}: ${e.result.failures.map((f) => `${f.name}: ${f.message}`).join('; ')}` : String((e as Error).message ?? e);
      this.failedSize = Math.max(this.failedSize, size);
      for (const w of [...this.waiters]) w();
      this.options.onShortfall?.(`checkpoint ${size} not served yet: ${why}`);
      if (!this.closed && !this.retry) {
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.kick();
        }, this.options.retryMs ?? 5_000);
        this.retry.unref();
      }
    }
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    clearInterval(this.refresher);
    if (this.retry) clearTimeout(this.retry);
    for (const done of this.idlers.splice(0)) done();
    for (const w of [...this.waiters]) w();
  }
}
