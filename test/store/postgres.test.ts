/**
 * The LogStore contract on PostgreSQL, and what only a shared database has: versioned schema
 * migrations, and two writers that cannot interleave. Runs when PEDIGREE_TEST_PG names a
 * database (`.ci/run` sets one up); without it these tests are skipped, and say so.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { EMPTY_TREE, integrate, leafHash, signCheckpoint } from '../../src/log/index.js';
import { MIGRATIONS, PostgresLogStore, redactUrl } from '../../src/store/postgres.js';
import { entry, logKeys } from '../helpers.js';
import { logStoreContract } from './contract.js';
import { TEST_PG, dropSchema as dropSchemaIn, freshSchema } from './pg.js';

const URL = TEST_PG;
const dropSchema = (schema: string) => dropSchemaIn(URL!, schema);

if (!URL) {
  describe('PostgreSQL store', () => {
    it.skip('skipped: set PEDIGREE_TEST_PG to a PostgreSQL URL (postgres://user:password@host/db) to run the LogStore contract on PostgreSQL; .ci/run does', () => undefined);
  });
} else {
  logStoreContract('PostgreSQL', async () => {
    const schema = freshSchema();
    const fixture = {
      store: await PostgresLogStore.open(URL, { schema }),
      reopen: async () => {
        await fixture.store.close();
        fixture.store = await PostgresLogStore.open(URL, { schema });
        return fixture.store;
      },
      cleanup: async () => {
        await fixture.store.close().catch(() => undefined);
        await dropSchema(schema);
      },
    };
    return fixture;
  });

  describe('PostgreSQL store', () => {
    const keys = logKeys();
    it('one writer at a time, and a database bound to one ledger', async () => {
      const schema = freshSchema();
      const ledger = { origin: 'a.example/log', logPublicKey: 'KEY-A' };
      const first = await PostgresLogStore.open(URL, { schema, writer: true, ledger });
      try {
        await expect(PostgresLogStore.open(URL, { schema, writer: true, ledger })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/writer lock/) });
        // A reader may open it; another ledger may not.
        await (await PostgresLogStore.open(URL, { schema, ledger })).close();
        await expect(PostgresLogStore.open(URL, { schema, ledger: { origin: 'b.example/log', logPublicKey: 'KEY-B' } })).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
        // The lock is this schema's: a ledger in another schema of the same database has its own writer.
        const elsewhere = freshSchema();
        try {
          await (await PostgresLogStore.open(URL, { schema: elsewhere, writer: true, ledger: { origin: 'c.example/log', logPublicKey: 'KEY-C' } })).close();
          expect(await PostgresLogStore.tryWriterLock(`${URL}${URL.includes('?') ? '&' : '?'}schema=${schema}`)).toBeUndefined();
        } finally {
          await dropSchema(elsewhere);
        }
        await first.close();
        // The lock goes with the writer: the next one may write.
        await (await PostgresLogStore.open(URL, { schema, writer: true, ledger })).close();
      } finally {
        await first.close().catch(() => undefined);
        await dropSchema(schema);
      }
    });

    const batch = async (from: number, count: number, tag: string) => {
      const entries = Array.from({ length: count }, (_, i) => {
        const data = entry(from + i, tag);
        return { index: from + i, data, leafHash: leafHash(data), integratedTime: 1_700_000_000 };
      });
      const out = await integrate(EMPTY_TREE, entries.map((e) => e.leafHash), () => Promise.resolve(undefined));
      const checkpoint = signCheckpoint({ origin: keys.signer.name, size: out.state.size, root: out.state.root, extensions: [] }, keys.signer);
      return { fromSize: from, tree: { state: out.state, checkpoint }, entries, tiles: out.tiles, records: [{ space: 'idx', key: `k\u0000${tag}\u0000x`, value: Uint8Array.of(1) }] };
    };

    it('applies its migrations once, records the version, and refuses a database from a newer version', async () => {
      const schema = freshSchema();
      try {
        const [a, b] = await Promise.all([PostgresLogStore.open(URL, { schema }), PostgresLogStore.open(URL, { schema })]);
        expect(await a.schemaVersion()).toBe(MIGRATIONS.length);
        await Promise.all([a.close(), b.close()]);
        const c = new pg.Client({ connectionString: URL });
        await c.connect();
        await c.query(`INSERT INTO ${schema}.pedigree_migrations (version) VALUES (${MIGRATIONS.length + 1})`);
        await c.end();
        await expect(PostgresLogStore.open(URL, { schema })).rejects.toMatchObject({ code: 'STORE_OUTDATED' });
      } finally {
        await dropSchema(schema);
      }
    });

    it('two writers on one database: of two batches from the same size, exactly one lands whole', async () => {
      const schema = freshSchema();
      const [a, b] = await Promise.all([PostgresLogStore.open(URL, { schema }), PostgresLogStore.open(URL, { schema })]);
      try {
        const results = await Promise.allSettled([a.commit(await batch(0, 5, 'a')), b.commit(await batch(0, 7, 'b'))]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'STORE_CONFLICT' } });
        const size = (await a.readTree())!.state.size;
        expect([5, 7]).toContain(size);
        // Nothing of the loser was written: every entry, and the record, is the winner's.
        const tag = size === 5 ? 'a' : 'b';
        expect((await b.readEntries(0, 10)).map((e) => Buffer.from(e.data).toString())).toEqual(Array.from({ length: size }, (_, i) => `${tag}-${i}`));
        expect(await a.readRecord('idx', `k\u0000${size === 5 ? 'b' : 'a'}\u0000x`)).toBeUndefined();
        expect([...(await a.readRecord('idx', `k\u0000${tag}\u0000x`))!]).toEqual([1]);
      } finally {
        await Promise.all([a.close(), b.close()]);
        await dropSchema(schema);
      }
    });

    it('says the database is unavailable without its password in the message, and bad schema names are refused', async () => {
      const wrong = new globalThis.URL(URL);
      wrong.password = 'not-the-password';
      wrong.port = '1';
      const error = await PostgresLogStore.open(wrong.toString(), { schema: freshSchema() }).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(error!.message).not.toContain('not-the-password');
      expect(redactUrl(wrong.toString())).toContain('***');
      await expect(PostgresLogStore.open(URL, { schema: 'x; DROP TABLE y' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    });
  });
}
