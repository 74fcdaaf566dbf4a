import SchemaBuilder from '@pothos/core';
import type { AttestationService } from '../../attest/service.js';
import type { Ledger } from '../../ledger/ledger.js';
import type { DeviceService } from '../../provenance/device.js';

export interface Context {
  readonly ledger: Ledger;
  readonly attestations: AttestationService;
  readonly devices: DeviceService;
  /** Aborted when the client goes away (ends subscriptions). */
  readonly signal?: AbortSignal;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  Scalars: { JSON: { Input: unknown; Output: unknown } };
}>({ defaultFieldNullability: false });

builder.scalarType('JSON', {
  description: 'Any JSON value (a Sigstore bundle, an in-toto statement, ...).',
  serialize: (v) => v,
  parseValue: (v) => v,
});

builder.queryType({ description: 'Read access to the Pedigree transparency log.' });
builder.mutationType({ description: 'Writes to the log.' });
builder.subscriptionType({ description: 'Live updates over server-sent events.' });
