import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { uuidv7 } from '../ids.js';
import { enqueue, type JobsSetup } from '../jobs/jobs.js';
import { eventDeliveries, events } from './tables.js';

export interface DomainEvent<P = Record<string, unknown>> {
  id: string;
  type: string;
  aggregateId: string | null;
  payload: P;
  occurredAt: string;
}

/** A module's reaction to events; it may run more than once per event, its effects only once. */
export interface Subscriber {
  name: string;
  types: string[];
  handle(tx: Tx, event: DomainEvent): Promise<void>;
}

/**
 * Records the event in the outbox inside the business transaction and schedules its fan-out, so
 * an event exists if and only if the change that caused it committed.
 */
export async function emit(tx: Tx, type: string, payload: Record<string, unknown>, meta: { aggregateId?: string; requestId?: string } = {}) {
  const id = uuidv7();
  // One round trip for both writes: emit sits on every write path.
  await tx.execute(sql`with e as (
      insert into ${events} (id, type, payload, aggregate_id, request_id)
      values (${id}, ${type}, ${JSON.stringify(payload)}::jsonb, ${meta.aggregateId ?? null}, ${meta.requestId ?? null}))
    select graphile_worker.add_job('platform.dispatch_event', ${JSON.stringify({ eventId: id, type })}::json, job_key => ${`dispatch:${id}`}, max_attempts => 10)`);
  return id;
}

async function loadEvent(db: Db, id: string): Promise<DomainEvent | undefined> {
  const [row] = await db.select().from(events).where(sql`${events.id} = ${id}`);
  return row && { id: row.id, type: row.type, aggregateId: row.aggregateId, payload: row.payload, occurredAt: row.occurredAt.toISOString() };
}

/** The dispatch and delivery tasks: one delivery job per (event, subscriber), retried on its own. */
export function eventJobs(db: Db, subscribers: Subscriber[]): Partial<JobsSetup> {
  const byName = new Map(subscribers.map((s) => [s.name, s]));
  return {
    tasks: {
      'platform.dispatch_event': async (payload) => {
        const { eventId, type } = payload as { eventId: string; type: string };
        const targets = subscribers.filter((s) => s.types.includes(type) || s.types.includes('*'));
        if (!targets.length) return;
        await db.transaction(async (tx) => {
          for (const s of targets) await enqueue(tx, 'platform.deliver_event', { eventId, subscriber: s.name }, { jobKey: `deliver:${eventId}:${s.name}` });
        });
      },
      'platform.deliver_event': async (payload) => {
        const { eventId, subscriber } = payload as { eventId: string; subscriber: string };
        const target = byName.get(subscriber);
        if (!target) throw new Error(`no subscriber named ${subscriber}`);
        const event = await loadEvent(db, eventId);
        if (!event) throw new Error(`event ${eventId} not found`);
        await db.transaction(async (tx) => {
          // The delivery row commits with the handler's own writes: a redelivery finds it and stops.
          const first = await tx.insert(eventDeliveries).values({ eventId, subscriber }).onConflictDoNothing().returning();
          if (first.length) await target.handle(tx, event);
        });
      },
    },
  };
}
