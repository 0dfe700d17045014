import { run, runOnce } from 'graphile-worker';
import pino from 'pino';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emit, eventJobs, relayOutbox, startOutboxRelay, type DomainEvent, type Subscriber } from '../../src/platform/events/events.js';
import { enqueue, mergeJobs, workerLogger } from '../../src/platform/jobs/jobs.js';
import { testApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
  await t.database.sql`create table public.job_effects (id serial primary key, note text not null)`;
});
afterAll(async () => { await t.close(); });

const logger = workerLogger(pino({ level: 'silent' }));
const effects = async () => (await t.database.sql`select note from public.job_effects order by id`).map((r) => r.note as string);
const jobCount = async (task: string) => Number((await t.database.sql`select count(*)::int as n from graphile_worker.jobs where task_identifier = ${task}`)[0]!.n);

describe('enqueue inside the business transaction', () => {
  it('leaves no job when the transaction rolls back', async () => {
    await expect(t.database.db.transaction(async (tx) => {
      await enqueue(tx, 'test.note', { note: 'never' });
      throw new Error('business rule failed');
    })).rejects.toThrow('business rule failed');
    expect(await jobCount('test.note')).toBe(0);
  });

  it('runs the job of a committed transaction', async () => {
    await t.database.db.transaction(async (tx) => {
      await tx.execute(sql`select 1`);
      await enqueue(tx, 'test.note', { note: 'committed' });
    });
    expect(await jobCount('test.note')).toBe(1);
    await runOnce({
      connectionString: t.database.url, logger,
      taskList: { 'test.note': async (p) => { await t.database.sql`insert into public.job_effects (note) values (${(p as { note: string }).note})`; } },
    });
    expect(await effects()).toEqual(['committed']);
    expect(await jobCount('test.note')).toBe(0);
  });
});

describe('domain events', () => {
  it('delivers an emitted event to each subscriber once, even when delivered twice', async () => {
    const seen: DomainEvent[] = [];
    const subscribers: Subscriber[] = [
      { name: 'test.audit-copy', types: ['thing.happened'], handle: async (tx, e) => { seen.push(e); await tx.execute(sql`insert into public.job_effects (note) values (${`copy:${e.id}`})`); } },
      { name: 'test.ignorer', types: ['other.thing'], handle: async () => { throw new Error('must not be called'); } },
    ];
    const jobs = mergeJobs(eventJobs(t.database.db, subscribers));
    const id = await t.database.db.transaction((tx) => emit(tx, 'thing.happened', { n: 1 }, { aggregateId: 'agg-1' }));
    await t.database.db.transaction(async (tx) => {
      await emit(tx, 'thing.happened', { n: 2 });
      throw new Error('rolled back');
    }).catch(() => {});
    expect(await relayOutbox(t.database.db, subscribers)).toBe(1);
    expect(await relayOutbox(t.database.db, subscribers)).toBe(0); // dispatched once
    await runOnce({ connectionString: t.database.url, taskList: jobs.tasks, logger });
    expect(seen.map((e) => e.payload)).toEqual([{ n: 1 }]);
    expect(seen[0]).toMatchObject({ id, type: 'thing.happened', aggregateId: 'agg-1' });
    // A redelivery (a retried job, a second dispatcher) finds the delivery row and does nothing.
    await t.database.sql`select graphile_worker.add_job('platform.deliver_event', json_build_object('eventId', ${id}::text, 'subscriber', 'test.audit-copy'))`;
    await runOnce({ connectionString: t.database.url, taskList: jobs.tasks, logger });
    expect(seen).toHaveLength(1);
    expect((await effects()).filter((n) => n.startsWith('copy:'))).toEqual([`copy:${id}`]);
  });

  it('retries a failing subscriber without its effects leaking', async () => {
    let calls = 0;
    const subscribers: Subscriber[] = [{
      name: 'test.flaky', types: ['flaky.event'],
      handle: async (tx) => {
        calls++;
        await tx.execute(sql`insert into public.job_effects (note) values ('flaky')`);
        // Fails in its pass and again on its own: then it waits for its retry.
        if (calls <= 2) throw new Error('downstream down');
      },
    }];
    const jobs = mergeJobs(eventJobs(t.database.db, subscribers));
    await t.database.db.transaction((tx) => emit(tx, 'flaky.event', {}));
    await relayOutbox(t.database.db, subscribers);
    await runOnce({ connectionString: t.database.url, taskList: jobs.tasks, logger });
    expect(calls).toBe(2);
    expect((await effects()).filter((n) => n === 'flaky')).toHaveLength(0);
    // graphile-worker backs off after a failure; make the retry due now.
    await t.database.sql`update graphile_worker._private_jobs set run_at = now()`;
    await runOnce({ connectionString: t.database.url, taskList: jobs.tasks, logger });
    expect(calls).toBe(3);
    expect((await effects()).filter((n) => n === 'flaky')).toHaveLength(1);
  });
});

describe('outbox delivery in passes', () => {
  it('one failing event of a pass leaves the others delivered, each once; it is retried on its own', async () => {
    let failures = 0;
    const subscribers: Subscriber[] = [{
      name: 'test.pass', types: ['pass.event'],
      handle: async (tx, e) => {
        const { n } = e.payload as { n: number };
        await tx.execute(sql`insert into public.job_effects (note) values (${`pass:${n}`})`);
        if (n === 2 && failures++ < 2) throw new Error('downstream down');
      },
    }];
    const passEffects = async () => (await effects()).filter((n) => n.startsWith('pass:')).sort();
    const jobs = mergeJobs(eventJobs(t.database.db, subscribers));
    for (const n of [1, 2, 3, 4]) await t.database.db.transaction((tx) => emit(tx, 'pass.event', { n }));
    await relayOutbox(t.database.db, subscribers);
    await runOnce({ connectionString: t.database.url, taskList: jobs.tasks, logger });
    expect(await passEffects()).toEqual(['pass:1', 'pass:3', 'pass:4']);
    const [single] = await t.database.sql`select j.payload->>'subscriber' as subscriber from graphile_worker._private_jobs j join graphile_worker._private_tasks k on k.id = j.task_id where k.identifier = 'platform.deliver_event'`;
    expect(single).toEqual({ subscriber: 'test.pass' });
    await t.database.sql`update graphile_worker._private_jobs set run_at = now()`;
    await runOnce({ connectionString: t.database.url, taskList: jobs.tasks, logger });
    expect(await passEffects()).toEqual(['pass:1', 'pass:2', 'pass:3', 'pass:4']);
  });
});

describe('outbox relay', () => {
  it('hands each event to exactly one of several concurrent relays', async () => {
    const subscribers: Subscriber[] = [{ name: 'test.count', types: ['burst.event'], handle: async () => {} }];
    await Promise.all(Array.from({ length: 300 }, (_, n) => t.database.db.transaction((tx) => emit(tx, 'burst.event', { n }))));
    const relayed = await Promise.all(Array.from({ length: 4 }, async () => {
      let total = 0;
      for (let n = await relayOutbox(t.database.db, subscribers); n !== 0; n = await relayOutbox(t.database.db, subscribers)) {
        if (n === 'busy') await new Promise((r) => setTimeout(r, 5));
        else total += n;
      }
      return total;
    }));
    expect(relayed.reduce((a, b) => a + b, 0)).toBe(300);
    const [jobs] = await t.database.sql`select count(*)::int as n, count(distinct e)::int as d from graphile_worker._private_jobs j join graphile_worker._private_tasks k on k.id = j.task_id, json_array_elements_text(j.payload->'eventIds') as e
      where k.identifier = 'platform.deliver_events' and j.payload->>'subscriber' = 'test.count'`;
    expect(jobs).toEqual({ n: 300, d: 300 });
  });

  it('answers busy at once while another pass has the turn, and relays once it is over', async () => {
    const subscribers: Subscriber[] = [{ name: 'test.turns', types: ['turn.event'], handle: async () => {} }];
    await t.database.db.transaction((tx) => emit(tx, 'turn.event', {}));
    const other = await t.database.sql.reserve();
    try {
      await other`select pg_advisory_lock(hashtextextended('platform.outbox_relay', 0))`;
      const started = Date.now();
      expect(await relayOutbox(t.database.db, subscribers)).toBe('busy');
      expect(Date.now() - started).toBeLessThan(1_000);
      const [waiting] = await t.database.sql`select count(*)::int as n from platform.events where type = 'turn.event' and dispatched_at is null`;
      expect(waiting!.n).toBe(1);
      await other`select pg_advisory_unlock_all()`;
    } finally {
      other.release();
    }
    expect(await relayOutbox(t.database.db, subscribers)).toBe(1);
  });

  it('runs as a loop beside a worker: an event reaches its subscriber without anyone polling by hand', async () => {
    const got: string[] = [];
    const subscribers: Subscriber[] = [{ name: 'test.live', types: ['live.event'], handle: async (_tx, e) => { got.push(e.id); } }];
    const relay = startOutboxRelay(t.database.db, subscribers, pino({ level: 'silent' }), 20);
    const worker = await run({ connectionString: t.database.url, concurrency: 2, noHandleSignals: true, pollInterval: 100, logger, taskList: eventJobs(t.database.db, subscribers).tasks! });
    const id = await t.database.db.transaction((tx) => emit(tx, 'live.event', {}));
    const deadline = Date.now() + 10_000;
    while (!got.includes(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await relay.stop();
    await worker.stop();
    expect(got).toEqual([id]);
  });
});
