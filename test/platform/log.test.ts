import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeError } from '../../src/platform/log.js';
import { testApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });

describe('error logging', () => {
  it('logs what a failed query was, never the values it carried', async () => {
    const err = await t.database.db.execute(sql`select ${'the-secret-value'}::int`).catch((e: unknown) => e);
    const logged = JSON.stringify(serializeError(err));
    expect(logged).not.toContain('the-secret-value');
    expect(logged).toContain('invalid input syntax');
    const raw = await t.database.sql`select ${'another-secret'}::int`.catch((e: unknown) => e);
    expect(JSON.stringify(serializeError(raw))).not.toContain('another-secret');
  });
});
