/** Writes schema/schema.graphql from the Pothos schema. A test fails when the two drift. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printSchema } from 'graphql';
import { schema } from '../src/server/graphql/schema.js';

export const SCHEMA_PATH = join(import.meta.dirname, '..', 'schema', 'schema.graphql');

export function printedSchema(): string {
  return `${printSchema(schema)}\n`;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  writeFileSync(SCHEMA_PATH, printedSchema());
  process.stdout.write(`wrote ${SCHEMA_PATH}\n`);
}
