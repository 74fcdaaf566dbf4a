import SchemaBuilder from '@pothos/core';
import type { AttestationService } from '../../attest/service.js';
import type { Ledger } from '../../ledger/ledger.js';
import type { DeviceService } from '../../provenance/device.js';

export interface Context {
  readonly ledger: Ledger;
  readonly attestations: AttestationService;
  readonly devices: DeviceService;
  /**
   * A signal aborted when the client goes away before its answer is finished (ends
   * subscriptions); made only when called, so requests that never ask pay nothing.
   */
  readonly closed?: () => AbortSignal;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  Scalars: { JSON: { Input: unknown; Output: unknown }; EpochSeconds: { Input: number; Output: number } };
}>({ defaultFieldNullability: false });

builder.scalarType('JSON', {
  description: 'Any JSON value (a Sigstore bundle, an in-toto statement, ...).',
  serialize: (v) => v,
  parseValue: (v) => v,
});

/**
 * Times as whole seconds since the epoch, as JSON numbers exact to 2^53: GraphQL's Int is 32-bit
 * and would end in January 2038, well inside a device's service life.
 */
builder.scalarType('EpochSeconds', {
  description: 'Whole seconds since 1970-01-01T00:00:00Z, a JSON number exact up to 2^53 (not limited to 32 bits like Int).',
  serialize: (v) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new TypeError('EpochSeconds must be a whole number of seconds');
    return v;
  },
  parseValue: (v) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError('EpochSeconds must be a whole, non-negative number of seconds');
    return v;
  },
});

builder.queryType({ description: 'Read access to the Pedigree transparency log.' });
builder.mutationType({ description: 'Writes to the log.' });
builder.subscriptionType({ description: 'Live updates over server-sent events.' });
