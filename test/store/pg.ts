/** PostgreSQL for the store tests: the database PEDIGREE_TEST_PG names, a fresh schema per test. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_PG = process.env.PEDIGREE_TEST_PG;

export const freshSchema = () => `pedigree_t${randomBytes(6).toString('hex')}`;

/** The test database's URL with `?schema=` naming `schema`. */
export const withSchema = (url: string, schema: string) => `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;

export async function dropSchema(url: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}
