import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresCode, together } from '../../src/platform/db/client.js';
import { type TestApp, testApp } from '../support/app.js';

/** The pool's transactions send BEGIN and SAVEPOINT with their first statement (client.ts); they must still be transactions. */
describe('transactions through the pool', () => {
  let t: TestApp;
  const ids = async () => (await t.database.sql<{ id: number }[]>`select id from tx_probe order by id`).map((r) => r.id);

  beforeAll(async () => {
    t = await testApp();
    await t.database.sql`create table tx_probe (id int primary key)`;
  });
  afterAll(() => t.close());

  it('run every statement, the first one included, in one transaction, and roll all of it back on an error', async () => {
    const { db } = t.database;
    const seen = await db.transaction(async (tx) => {
      const [first] = await tx.execute<{ xid: string }>(sql`insert into tx_probe values (1) returning pg_current_xact_id()::text as xid`);
      const [second] = await tx.execute<{ xid: string }>(sql`select pg_current_xact_id()::text as xid`);
      return [first!.xid, second!.xid];
    });
    expect(seen[0]).toBe(seen[1]);
    await expect(db.transaction(async (tx) => {
      await tx.execute(sql`insert into tx_probe values (2)`);
      await tx.execute(sql`insert into tx_probe values (1)`);
    })).rejects.toThrow();
    await expect(db.transaction(async (tx) => {
      await tx.execute(sql`insert into tx_probe values (3)`);
      throw new Error('the caller gives up');
    })).rejects.toThrow('the caller gives up');
    expect(await ids()).toEqual([1]);
  });

  it('roll a failed nested transaction back to its savepoint and keep the rest', async () => {
    await t.database.db.transaction(async (tx) => {
      await tx.execute(sql`insert into tx_probe values (10)`);
      await expect(tx.transaction(async (sp) => {
        await sp.execute(sql`insert into tx_probe values (11)`);
        await sp.execute(sql`insert into tx_probe values (10)`);
      })).rejects.toThrow();
      await tx.transaction(async (sp) => { await sp.execute(sql`insert into tx_probe values (12)`); });
    });
    expect(await ids()).toEqual([1, 10, 12]);
  });

  it('fail, and commit nothing, when the callback swallowed a failed statement (Postgres would answer COMMIT with ROLLBACK)', async () => {
    await expect(t.database.db.transaction(async (tx) => {
      await tx.execute(sql`insert into tx_probe values (30)`);
      await tx.execute(sql`insert into tx_probe values (1)`).catch(() => undefined);
    })).rejects.toSatisfy((err) => postgresCode(err) === '23505');
    // In a savepoint the failure stays there.
    await t.database.db.transaction(async (tx) => {
      await tx.transaction(async (sp) => { await sp.execute(sql`insert into tx_probe values (1)`); }).catch(() => undefined);
      await tx.execute(sql`insert into tx_probe values (31)`);
    });
    expect(await ids()).toEqual([1, 10, 12, 31]);
  });

  it('survive the connection going away mid-transaction, and leave the pool working', async () => {
    const { db, sql: pool } = t.database;
    await expect(db.transaction(async (tx) => {
      const [me] = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
      await pool`select pg_terminate_backend(${me!.pid})`;
      // The callback goes on after the connection is gone (postgres.js has seen it close).
      await new Promise((r) => setTimeout(r, 200));
      await tx.execute(sql`insert into tx_probe values (40)`);
    })).rejects.toThrow();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => db.transaction((tx) => tx.execute<{ n: number }>(sql`select ${i}::int as n`))));
    expect(answers.map((rows) => rows[0]!.n)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(await ids()).not.toContain(40);
  });

  it('report the failure of statements sent together that aborted the transaction, not those refused after it', async () => {
    await expect(t.database.db.transaction((tx) => together(
      tx.execute(sql`insert into tx_probe values (20)`),
      tx.execute(sql`insert into tx_probe values (21)`),
      tx.execute(sql`insert into tx_probe values (1)`),
      tx.execute(sql`insert into tx_probe values (22)`),
    ))).rejects.toMatchObject({ cause: { code: '23505' } });
    expect(await ids()).toEqual([1, 10, 12, 31]);
  });

  it('send a statement left unawaited with the COMMIT, and fail with its error if it fails; a batch over 1 KB still goes as one', async () => {
    const big = 'x'.repeat(3000);
    await t.database.db.transaction(async (tx) => {
      const [[a], [b]] = await together(tx.execute<{ n: number }>(sql`select length(${big}) as n`), tx.execute<{ n: number }>(sql`select length(${big}) as n`));
      expect([a!.n, b!.n]).toEqual([3000, 3000]);
      tx.execute(sql`insert into tx_probe values (50)`).then(undefined, () => {});
    });
    await expect(t.database.db.transaction(async (tx) => {
      await tx.execute(sql`insert into tx_probe values (51)`);
      tx.execute(sql`insert into tx_probe values (1)`).then(undefined, () => {});
    })).rejects.toSatisfy((err) => postgresCode(err) === '23505');
    expect(await ids()).toEqual([1, 10, 12, 31, 50]);
  });
});
