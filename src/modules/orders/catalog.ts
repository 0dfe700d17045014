import { and, asc, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import type { Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import type { z } from 'zod';
import type { createPricePlanBody, newVersionBody, PricePlanView, updateDraftBody } from './catalog-schemas.js';
import { orderErrors } from './errors.js';
import { pricePlans, pricePlanVersions } from './tables.js';

type PlanRow = typeof pricePlans.$inferSelect;
type VersionRow = typeof pricePlanVersions.$inferSelect;

const versionView = (v: VersionRow) => ({
  id: v.id, version: v.version, recurringFee: { amount: v.feeAmount, currency: v.currency }, terms: v.terms, createdAt: v.createdAt, publishedAt: v.publishedAt,
});

/** Plans with their versions, in two queries however many plans there are. */
async function views(db: Tx, plans: PlanRow[]): Promise<PricePlanView[]> {
  if (!plans.length) return [];
  const versions = await db.select().from(pricePlanVersions)
    .where(inArray(pricePlanVersions.planId, plans.map((p) => p.id))).orderBy(asc(pricePlanVersions.version));
  return plans.map((plan) => {
    const own = versions.filter((v) => v.planId === plan.id);
    return { ...plan, currentVersion: versionView(own.find((v) => v.version === plan.currentVersion)!), versions: own.map(versionView) };
  });
}

const view = async (db: Tx, plan: PlanRow) => (await views(db, [plan]))[0]!;

/** Staff see every plan; partners and customers only what is on sale. */
const visible = (ctx: Ctx): SQL | undefined => (ctx.principal.kind === 'staff' || ctx.principal.kind === 'integration' ? undefined : eq(pricePlans.status, 'active'));

async function lockPlan(tx: Tx, id: string) {
  const [plan] = await tx.select().from(pricePlans).where(eq(pricePlans.id, id)).for('update');
  if (!plan) throw orderErrors.price_plan_not_found();
  return plan;
}

async function changed(tx: Tx, ctx: Ctx, plan: PlanRow, action: string, details: Record<string, unknown> = {}) {
  await emit(tx, action, { planId: plan.id, code: plan.code, version: plan.currentVersion, ...details }, { aggregateId: plan.id, requestId: ctx.requestId });
  await audit(tx, ctx, { action, entityType: 'price_plan', entityId: plan.id, details });
  return view(tx, plan);
}

export async function createPricePlan(db: Db, ctx: Ctx, input: z.output<typeof createPricePlanBody>) {
  return db.transaction(async (tx) => {
    const id = uuidv7();
    const [plan] = await tx.insert(pricePlans).values({ id, code: input.code, name: input.name, kind: input.kind }).onConflictDoNothing().returning();
    if (!plan) throw orderErrors.price_plan_code_taken();
    await tx.insert(pricePlanVersions).values({ id: uuidv7(), planId: id, version: 1, feeAmount: input.recurringFee.amount, currency: input.recurringFee.currency, terms: input.terms });
    return changed(tx, ctx, plan, 'price_plan.created');
  });
}

/**
 * A draft is still being designed: its only version changes in place. A published plan can still
 * be renamed (a name is not a term anyone agreed to); its price and terms change by new versions.
 */
export async function updateDraft(db: Db, ctx: Ctx, id: string, patch: z.output<typeof updateDraftBody>) {
  return db.transaction(async (tx) => {
    const plan = await lockPlan(tx, id);
    if (plan.status !== 'draft' && (patch.recurringFee || patch.terms)) throw orderErrors.price_plan_not_draft();
    if (!Object.keys(patch).length) return view(tx, plan); // nothing changes: no event
    const [updated] = await tx.update(pricePlans).set({ ...(patch.name ? { name: patch.name } : {}), updatedAt: sql`now()` }).where(eq(pricePlans.id, id)).returning();
    if (patch.recurringFee || patch.terms) {
      await tx.update(pricePlanVersions).set({
        ...(patch.recurringFee ? { feeAmount: patch.recurringFee.amount, currency: patch.recurringFee.currency } : {}),
        ...(patch.terms ? { terms: patch.terms } : {}),
      }).where(and(eq(pricePlanVersions.planId, id), eq(pricePlanVersions.version, plan.currentVersion)));
    }
    return changed(tx, ctx, updated!, 'price_plan.updated', { fields: Object.keys(patch) });
  });
}

export async function publishPlan(db: Db, ctx: Ctx, id: string) {
  return db.transaction(async (tx) => {
    const plan = await lockPlan(tx, id);
    if (plan.status === 'retired') throw orderErrors.price_plan_retired();
    if (plan.status === 'active') return view(tx, plan); // publishing twice changes nothing
    const [updated] = await tx.update(pricePlans).set({ status: 'active', updatedAt: sql`now()` }).where(eq(pricePlans.id, id)).returning();
    await tx.update(pricePlanVersions).set({ publishedAt: sql`now()` }).where(and(eq(pricePlanVersions.planId, id), eq(pricePlanVersions.version, plan.currentVersion)));
    return changed(tx, ctx, updated!, 'price_plan.published');
  });
}

/** New terms for an active plan: a new version for new sales; existing lines keep theirs. */
export async function publishNewVersion(db: Db, ctx: Ctx, id: string, input: z.output<typeof newVersionBody>) {
  return db.transaction(async (tx) => {
    const plan = await lockPlan(tx, id);
    if (plan.status !== 'active') throw plan.status === 'retired' ? orderErrors.price_plan_retired() : orderErrors.price_plan_not_active('Edit the draft instead');
    const [current] = await tx.select().from(pricePlanVersions).where(and(eq(pricePlanVersions.planId, id), eq(pricePlanVersions.version, plan.currentVersion)));
    if (current!.currency !== input.recurringFee.currency) throw orderErrors.currency_mismatch();
    const version = plan.currentVersion + 1;
    await tx.insert(pricePlanVersions).values({
      id: uuidv7(), planId: id, version, feeAmount: input.recurringFee.amount, currency: input.recurringFee.currency, terms: input.terms, publishedAt: sql`now()`,
    });
    const [updated] = await tx.update(pricePlans).set({ currentVersion: version, updatedAt: sql`now()` }).where(eq(pricePlans.id, id)).returning();
    return changed(tx, ctx, updated!, 'price_plan.version_published', { version });
  });
}

export async function retirePlan(db: Db, ctx: Ctx, id: string) {
  return db.transaction(async (tx) => {
    const plan = await lockPlan(tx, id);
    if (plan.status === 'retired') return view(tx, plan);
    if (plan.status !== 'active') throw orderErrors.price_plan_not_active('A draft is not sold yet: nothing to retire');
    const [updated] = await tx.update(pricePlans).set({ status: 'retired', updatedAt: sql`now()` }).where(eq(pricePlans.id, id)).returning();
    return changed(tx, ctx, updated!, 'price_plan.retired');
  });
}

export async function getPricePlan(db: Db, ctx: Ctx, id: string) {
  const [plan] = await db.select().from(pricePlans).where(and(eq(pricePlans.id, id), visible(ctx)));
  if (!plan) throw orderErrors.price_plan_not_found();
  return view(db, plan);
}

export async function listPricePlans(db: Db, ctx: Ctx, q: { status?: PlanRow['status']; kind?: PlanRow['kind']; limit: number; after?: string }) {
  const where: (SQL | undefined)[] = [visible(ctx)];
  if (q.status) where.push(eq(pricePlans.status, q.status));
  if (q.kind) where.push(eq(pricePlans.kind, q.kind));
  if (q.after) where.push(lt(pricePlans.id, q.after));
  return views(db, await db.select().from(pricePlans).where(and(...where)).orderBy(desc(pricePlans.id)).limit(q.limit + 1));
}

/** The plan and its current version if it is on sale: what a new order may take. */
export async function sellablePlan(tx: Tx, id: string) {
  const [row] = await tx.select({ plan: pricePlans, version: pricePlanVersions }).from(pricePlans)
    .innerJoin(pricePlanVersions, and(eq(pricePlanVersions.planId, pricePlans.id), eq(pricePlanVersions.version, pricePlans.currentVersion)))
    .where(eq(pricePlans.id, id));
  if (!row) throw orderErrors.price_plan_not_found();
  if (row.plan.status === 'retired') throw orderErrors.price_plan_retired();
  if (row.plan.status !== 'active') throw orderErrors.price_plan_not_active();
  return row;
}

/** A version a line is on (retired or not: what the subscriber agreed to stays readable). */
export async function planVersion(tx: Tx, versionId: string) {
  const [row] = await tx.select({ plan: pricePlans, version: pricePlanVersions }).from(pricePlanVersions)
    .innerJoin(pricePlans, eq(pricePlans.id, pricePlanVersions.planId)).where(eq(pricePlanVersions.id, versionId));
  return row!;
}
