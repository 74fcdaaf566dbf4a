/**
 * Group commit: appends that arrive while a batch is being made durable wait together and are
 * integrated as the next batch. When no batch is being made durable, the next one starts at once
 * (on the next turn of the event loop, so appends made together still go together), unless
 * `maxDelayMs` asks it to wait for companions; a batch closes at `maxBatch` items. Past `maxPending` waiting items, new work is refused (pushback) instead of
 * queueing without bound. The batch function settles each item on its own, so one refused item
 * does not fail its companions; a thrown error fails the whole batch.
 */
import { LedgerError } from './errors.js';

export interface SequencerOptions {
  /** Most items integrated in one batch. */
  readonly maxBatch: number;
  /** How long an item waits for companions when no batch is running (0: the next turn of the event loop). */
  readonly maxDelayMs: number;
  /** Most items waiting at once; more are refused with LOG_BUSY. */
  readonly maxPending: number;
}

export const DEFAULT_SEQUENCER: SequencerOptions = { maxBatch: 1024, maxDelayMs: 0, maxPending: 20_000 };

/** One item's outcome in a batch. */
export type Settled<O> = { readonly ok: true; readonly value: O } | { readonly ok: false; readonly error: unknown };

interface Waiting<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class Sequencer<I, O> {
  private readonly queue: Array<Waiting<I, O>> = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly process: (items: I[]) => Promise<Array<Settled<O>>>,
    private readonly options: SequencerOptions = DEFAULT_SEQUENCER,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  submit(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new LedgerError('LOG_CLOSED', 'the log is shutting down'));
    if (this.queue.length >= this.options.maxPending) {
      return Promise.reject(new LedgerError('LOG_BUSY', 'too many appends are waiting; retry shortly'));
    }
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return; // the running batch reschedules when it ends
    if (this.queue.length >= this.options.maxBatch) {
      this.clearTimer();
      this.run();
    } else if (!this.timer && !this.immediate) {
      const go = () => {
        this.timer = undefined;
        this.immediate = undefined;
        this.run();
      };
      if (this.options.maxDelayMs > 0) this.timer = setTimeout(go, this.options.maxDelayMs);
      else this.immediate = setImmediate(go);
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private immediate: ReturnType<typeof setImmediate> | undefined;

  private run(): void {
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.running = (async () => {
      try {
        const out = await this.process(batch.map((w) => w.item));
        batch.forEach((w, i) => {
          const r = out[i]!;
          if (r.ok) w.resolve(r.value);
          else w.reject(r.error);
        });
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    })().finally(() => {
      this.running = undefined;
      // Items that arrived during the commit have already waited one commit: go at once.
      if (this.queue.length > 0) {
        this.clearTimer();
        this.run();
      }
    });
  }

  /** Stops taking work and waits for everything already submitted. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    this.run();
    while (this.running) await this.running;
  }
}
