import { and, asc, eq, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { uuidv7 } from '../../platform/ids.js';
import { requireKnownPlans } from './audience.js';
import { requireChannels } from './channels.js';
import { campaignErrors } from './errors.js';
import { purposes } from './purposes.js';
import { triggers } from './tables.js';

type Trigger = typeof triggers.$inferSelect;
export interface TriggerInput { name: string; eventType: string; channels: string[]; kind?: Trigger['kind']; conditions?: Trigger['conditions']; active?: boolean }

/** A domain event bound to messages: channels in order of preference, a kind (the purpose's unless said), conditions. */
export async function createTrigger(db: Db, ctx: Ctx, input: TriggerInput) {
  const channels = requireChannels(input.channels);
  const purpose = purposes[input.eventType];
  if (!purpose) throw campaignErrors.unknown_purpose(`No messages can be sent on "${input.eventType}"`);
  return db.transaction(async (tx) => {
    await requireKnownPlans(tx, input.conditions?.plans);
    const [row] = await tx.insert(triggers).values({
      id: uuidv7(), name: input.name, eventType: input.eventType, kind: input.kind ?? purpose.kind, channels, conditions: input.conditions ?? {}, active: input.active ?? true, createdBy: actorOf(ctx),
    }).returning();
    await audit(tx, ctx, { action: 'message_trigger.created', entityType: 'message_trigger', entityId: row!.id, details: { eventType: input.eventType, channels } });
    return row!;
  });
}

/** Switches a trigger on or off. */
export async function setTriggerActive(db: Db, ctx: Ctx, id: string, active: boolean) {
  return db.transaction(async (tx) => {
    const [row] = await tx.update(triggers).set({ active, updatedAt: sql`now()` }).where(eq(triggers.id, id)).returning();
    if (!row) throw campaignErrors.trigger_not_found();
    await audit(tx, ctx, { action: active ? 'message_trigger.activated' : 'message_trigger.deactivated', entityType: 'message_trigger', entityId: id });
    return row;
  });
}

export const listTriggers = (db: Db) => db.select().from(triggers).orderBy(asc(triggers.eventType), asc(triggers.id));
export const activeTriggers = (tx: Tx, eventType: string) => tx.select().from(triggers).where(and(eq(triggers.eventType, eventType), eq(triggers.active, true))).orderBy(asc(triggers.id));
