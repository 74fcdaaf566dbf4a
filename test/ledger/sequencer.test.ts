/** The group-commit sequencer: an idle ledger commits at once; appends made together go together. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Sequencer, type Settled } from '../../src/ledger/sequencer.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('the sequencer', () => {
  it('commits at once when idle, waiting on no timer, and batches what is submitted together', async () => {
    // Timers never fire here: a commit that waited on one would never happen.
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] });
    const batches: number[][] = [];
    const seq = new Sequencer<number, number>(async (items) => {
      batches.push(items);
      return items.map((i): Settled<number> => ({ ok: true, value: i * 10 }));
    }, { maxBatch: 1024, maxDelayMs: 0, maxPending: 100 });
    await expect(Promise.all([seq.submit(1), seq.submit(2), seq.submit(3)])).resolves.toEqual([10, 20, 30]);
    await expect(seq.submit(4)).resolves.toBe(40);
    expect(batches).toEqual([[1, 2, 3], [4]]);
    await seq.close();
  });

  it('gathers what arrives while a batch is being written into the next one', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const batches: number[][] = [];
    const seq = new Sequencer<number, number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await held;
      return items.map((i): Settled<number> => ({ ok: true, value: i }));
    }, { maxBatch: 1024, maxDelayMs: 0, maxPending: 100 });
    const first = seq.submit(1);
    await new Promise((r) => setImmediate(r));
    const rest = [seq.submit(2), seq.submit(3), seq.submit(4)];
    release();
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
    await seq.close();
  });
});
