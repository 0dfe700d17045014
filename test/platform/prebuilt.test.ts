import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prebuilt } from '../../src/platform/db/prebuilt.js';
import { eventInsertFrom } from '../../src/platform/events/events.js';
import { events } from '../../src/platform/events/tables.js';
import { type TestApp, testApp } from '../support/app.js';

/** Statements built by drizzle once and bound per call (db/prebuilt.ts) must send what a fresh build would. */
describe('prebuilt statements', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  it('bind each call its own values, keep what was fixed at the first call, and build only once', async () => {
    let builds = 0;
    const fixed = { label: 'first' };
    const echo = prebuilt(['n', 'name', 'tags', 'pin'], (v) => {
      builds++;
      return sql`select ${v.n}::int + 1 as next, ${v.name}::text as name, ${sql.param(v.tags)}::text[] as tags, ${v.pin}::bytea as pin,
        ${fixed.label}::text as label, ${events.type} is null as never from ${events} right join (select 1) one on false`;
    });
    const first = await t.database.db.execute(echo({ n: 1, name: 'Ada', tags: ['a', 'b'], pin: Buffer.from([1, 2]) }));
    fixed.label = 'second';
    const [second] = await t.database.db.transaction((tx) => tx.execute(echo({ n: 41, name: null, tags: [], pin: Buffer.from([255]) })));
    expect(first[0]).toEqual({ next: 2, name: 'Ada', tags: ['a', 'b'], pin: Buffer.from([1, 2]), label: 'first', never: true });
    expect(second).toEqual({ next: 42, name: null, tags: [], pin: Buffer.from([255]), label: 'first', never: true });
    expect(builds).toBe(1);
  });

  it('refuse a builder that draws its own id, or decides with a value instead of sending it', () => {
    const drawing = prebuilt(['type'], (v) => eventInsertFrom('test.event', sql`'{}'::jsonb`, sql`(select 1) one`, { aggregateId: sql`${v.type}::text` }));
    expect(() => drawing({ type: 'x' })).toThrow('binds every value it draws');
    const deciding = prebuilt(['flag', 'n'], (v) => (v.flag ? sql`select ${v.n}::int` : sql`select 0`));
    expect(() => deciding({ flag: false, n: 1 })).toThrow('does not send flag');
  });

  it('refuse a call that leaves a value out, and a statement that embeds one', async () => {
    const one = prebuilt(['a', 'b'], (v) => sql`select ${v.a}::int + ${v.b}::int as sum`);
    expect(() => one({ a: 1 } as never)).toThrow('no value for b');
    expect(() => t.database.db.execute(sql`${one({ a: 1, b: 2 })} union all select 0`)).toThrow('never embedded');
    const [row] = await t.database.db.execute(one({ a: 1, b: 2 }));
    expect(row).toEqual({ sum: 3 });
  });
});
