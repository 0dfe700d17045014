import { and, asc, eq } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { uuidv7 } from '../../platform/ids.js';
import { serviceErrors } from './errors.js';
import { type ServiceType, subcategories, triageRules } from './tables.js';

/** The operator's subcategories under a service type. */
export async function addSubcategory(db: Db, ctx: Ctx, input: { serviceType: ServiceType; code: string; name: string }) {
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(subcategories).values(input).onConflictDoNothing().returning();
    if (!row) throw serviceErrors.subcategory_exists();
    await audit(tx, ctx, { action: 'ticket_subcategory.added', entityType: 'ticket_subcategory', entityId: `${input.serviceType}/${input.code}` });
    return row;
  });
}

/** A subcategory named for a ticket or rule must be one the operator offers under its service type. */
export async function requireSubcategory(tx: Tx, serviceType: ServiceType, code: string) {
  const [known] = await tx.select().from(subcategories).where(and(eq(subcategories.serviceType, serviceType), eq(subcategories.code, code)));
  if (!known) throw serviceErrors.unknown_subcategory(`${code} is not a subcategory of ${serviceType}`);
}

export const listSubcategories = (db: Db, serviceType?: ServiceType) =>
  db.select().from(subcategories).where(serviceType ? eq(subcategories.serviceType, serviceType) : undefined).orderBy(asc(subcategories.serviceType), asc(subcategories.code));

/** A triage rule: tickets without a category whose text holds the keyword get this one (rules by position). */
export async function addTriageRule(db: Db, ctx: Ctx, input: { keyword: string; serviceType: ServiceType; subcategory: string | null; position: number }) {
  return db.transaction(async (tx) => {
    if (input.subcategory) await requireSubcategory(tx, input.serviceType, input.subcategory);
    const [row] = await tx.insert(triageRules).values({ ...input, id: uuidv7(), createdBy: actorOf(ctx) }).returning();
    await audit(tx, ctx, { action: 'triage_rule.added', entityType: 'triage_rule', entityId: row!.id, details: { keyword: input.keyword, serviceType: input.serviceType } });
    return row!;
  });
}

export const listTriageRules = (db: Db) => db.select().from(triageRules).orderBy(asc(triageRules.position), asc(triageRules.id));
