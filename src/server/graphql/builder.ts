import SchemaBuilder from '@pothos/core';
import type { Ledger } from '../../ledger/ledger.js';

export interface Context {
  readonly ledger: Ledger;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
}>({ defaultFieldNullability: false });

builder.queryType({ description: 'Read access to the Pedigree transparency log.' });
