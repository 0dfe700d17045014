import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/platform/ids.js';
import { keyFor, anon, testApp, type TestApp } from '../support/app.js';

let t: TestApp;
let reader: string;
beforeAll(async () => {
  t = await testApp();
  reader = await keyFor(t, { principalKind: 'integration', capabilities: ['events:read'] });
});
afterAll(async () => { await t.close(); });

const feed = async (cursor?: string) => (await anon(t).get(`/v1/events?type=feed.test${cursor ? `&cursor=${cursor}` : ''}`).set('authorization', reader).expect(200)).body;
const insert = (sql: typeof t.database.sql, n: number) =>
  sql`insert into platform.events (id, type, payload) values (${uuidv7()}, 'feed.test', ${JSON.stringify({ n })}::jsonb)`;

describe('GET /v1/events', () => {
  it('never lets an event that commits late fall behind a reader\'s cursor', async () => {
    const slow = await t.database.sql.reserve();
    await slow`begin`;
    await insert(slow, 1); // written first, committed last
    await insert(t.database.sql, 2);
    const first = await feed();
    // Event 2 is held back while the older transaction is still open.
    expect(first.items).toEqual([]);
    await slow`commit`;
    slow.release();
    await insert(t.database.sql, 3);
    const seen: number[] = [];
    let cursor: string | undefined = first.nextCursor ?? undefined;
    // Other test files' open transactions may hold the feed back a moment: poll, as a reader would.
    const deadline = Date.now() + 10_000;
    while (seen.length < 3 && Date.now() < deadline) {
      const page = await feed(cursor);
      seen.push(...page.items.map((e: { payload: { n: number } }) => e.payload.n));
      cursor = page.nextCursor ?? undefined;
      if (!page.items.length) await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toEqual([1, 2, 3]);
    // Caught up: an empty page hands the reader's own position back.
    expect((await feed(cursor)).nextCursor).toBe(cursor);
  });
});
