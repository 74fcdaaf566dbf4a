/** Subscriptions (GraphQL over server-sent events): the log growing, live. */
import type { Ledger } from '../../../ledger/ledger.js';
import { LedgerError } from '../../../ledger/errors.js';
import type { AttestationRecord, AttestationService } from '../../../attest/service.js';
import { builder } from '../builder.js';
import { Attestation } from './attestation.js';
import { Checkpoint } from './log.js';

interface Growth {
  note: string;
  fromSize: number;
  toSize: number;
}

/** Open subscriptions are bounded; each holds a listener on the ledger. */
export const MAX_SUBSCRIBERS = 256;
let subscribers = 0;

/** Each integration as it happens; a slow subscriber sees the latest growth, never an unbounded queue. */
async function* growth(ledger: Ledger, signal?: AbortSignal): AsyncGenerator<Growth> {
  if (subscribers >= MAX_SUBSCRIBERS) throw new LedgerError('LOG_BUSY', `at most ${MAX_SUBSCRIBERS} live subscriptions at once`);
  subscribers++;
  let last = ledger.size;
  let wake: (() => void) | undefined;
  const off = ledger.onIntegrated(() => wake?.());
  const aborted = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
  try {
    for (;;) {
      if (ledger.size === last) {
        await Promise.race([new Promise<void>((r) => (wake = r)), aborted]);
        if (signal?.aborted) return;
        continue;
      }
      const g = { note: ledger.checkpoint, fromSize: last, toSize: ledger.size };
      last = g.toSize;
      yield g;
    }
  } finally {
    subscribers--;
    off();
  }
}

const MAX_NEW = 50;

const LogGrowth = builder.objectRef<Growth & { attestations: AttestationService }>('LogGrowth').implement({
  description: 'The log grew: its new checkpoint and the newest entries (at most 50).',
  fields: (t) => ({
    checkpoint: t.field({ type: Checkpoint, resolve: (g) => ({ note: g.note }) }),
    fromSize: t.exposeInt('fromSize'),
    toSize: t.exposeInt('toSize'),
    newEntries: t.field({
      type: [Attestation],
      resolve: async (g) => {
        const from = Math.max(g.fromSize, g.toSize - MAX_NEW);
        const records = await Promise.all(Array.from({ length: g.toSize - from }, (_, i) => g.attestations.record(from + i)));
        return records.filter((r): r is AttestationRecord => r !== undefined);
      },
    }),
  }),
});

builder.subscriptionFields((t) => ({
  logGrowth: t.field({
    type: LogGrowth,
    description: 'Fires after every integration.',
    subscribe: (_r, _a, { ledger, closed }) => growth(ledger, closed?.()),
    resolve: (g: Growth, _a, { attestations }) => ({ ...g, attestations }),
  }),
}));
