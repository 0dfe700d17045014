import { and, asc, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { audit } from '../../platform/audit/audit.js';
import type { Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { httpErrors } from '../../platform/http/errors.js';
import { uuidv7 } from '../../platform/ids.js';
import { addOnTerms, money, planCode } from './catalog-schemas.js';
import { orderErrors } from './errors.js';
import { addOns, addOnVersions } from './tables.js';

const kind = z.enum(['one_off', 'recurring']);
const status = z.enum(['draft', 'active', 'retired']);
const name = z.string().trim().min(1).max(200);

/** A one-off pack lasts its validity; a recurring one lasts the cycle, so it must not name one. */
const validityFits = (k: AddOnRow['kind'], terms: { validityHours?: number }) => (k === 'one_off') === (terms.validityHours !== undefined);
const validityRule = 'a one_off add-on needs terms.validityHours; a recurring one lasts the cycle and takes none';

export const createAddOnBody = z.object({ code: planCode, name, kind, fee: money, terms: addOnTerms }).strict()
  .refine((b) => validityFits(b.kind, b.terms), { message: validityRule, path: ['terms', 'validityHours'] });
export const updateAddOnBody = z.object({ name, fee: money, terms: addOnTerms }).partial().strict();
export const newAddOnVersionBody = z.object({ fee: money, terms: addOnTerms }).strict();
export const listAddOnsQuery = z.object({
  status: status.optional(),
  kind: kind.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

const addOnVersion = z.object({
  id: z.uuid(), version: z.number().int(), fee: money, terms: addOnTerms, createdAt: z.date(), publishedAt: z.date().nullable(),
});
export const addOn = z.object({
  id: z.uuid(), code: z.string(), name: z.string(), kind, status, currentVersion: addOnVersion, versions: z.array(addOnVersion),
  createdAt: z.date(), updatedAt: z.date(),
});
export type AddOnView = z.infer<typeof addOn>;

type AddOnRow = typeof addOns.$inferSelect;
type VersionRow = typeof addOnVersions.$inferSelect;

const versionView = (v: VersionRow) => ({
  id: v.id, version: v.version, fee: { amount: v.feeAmount, currency: v.currency }, terms: v.terms, createdAt: v.createdAt, publishedAt: v.publishedAt,
});

/** Add-ons with their versions, in two queries however many there are. */
async function views(db: Tx, rows: AddOnRow[]): Promise<AddOnView[]> {
  if (!rows.length) return [];
  const versions = await db.select().from(addOnVersions)
    .where(inArray(addOnVersions.addOnId, rows.map((a) => a.id))).orderBy(asc(addOnVersions.version));
  return rows.map((a) => {
    const own = versions.filter((v) => v.addOnId === a.id);
    return { ...a, currentVersion: versionView(own.find((v) => v.version === a.currentVersion)!), versions: own.map(versionView) };
  });
}

const view = async (db: Tx, a: AddOnRow) => (await views(db, [a]))[0]!;

/** Staff see every add-on; partners and customers only what is on sale. */
const visible = (ctx: Ctx): SQL | undefined => (ctx.principal.kind === 'staff' || ctx.principal.kind === 'integration' ? undefined : eq(addOns.status, 'active'));

/** The kind is fixed at creation, so terms sent later are checked against it here rather than by the body schema. */
function checkValidity(a: AddOnRow, terms: { validityHours?: number } | undefined) {
  if (terms && !validityFits(a.kind, terms)) {
    throw httpErrors.validation_failed(undefined, { errors: [{ path: 'body.terms.validityHours', message: validityRule }] });
  }
}

async function lockAddOn(tx: Tx, id: string) {
  const [a] = await tx.select().from(addOns).where(eq(addOns.id, id)).for('update');
  if (!a) throw orderErrors.add_on_not_found();
  return a;
}

async function changed(tx: Tx, ctx: Ctx, a: AddOnRow, action: string, details: Record<string, unknown> = {}) {
  await emit(tx, action, { addOnId: a.id, code: a.code, version: a.currentVersion, ...details }, { aggregateId: a.id, requestId: ctx.requestId });
  await audit(tx, ctx, { action, entityType: 'add_on', entityId: a.id, details });
  return view(tx, a);
}

export async function createAddOn(db: Db, ctx: Ctx, input: z.output<typeof createAddOnBody>) {
  return db.transaction(async (tx) => {
    const id = uuidv7();
    const [a] = await tx.insert(addOns).values({ id, code: input.code, name: input.name, kind: input.kind }).onConflictDoNothing().returning();
    if (!a) throw orderErrors.add_on_code_taken();
    await tx.insert(addOnVersions).values({ id: uuidv7(), addOnId: id, version: 1, feeAmount: input.fee.amount, currency: input.fee.currency, terms: input.terms });
    return changed(tx, ctx, a, 'add_on.created');
  });
}

/** A draft is still being designed: its only version changes in place. */
export async function updateDraftAddOn(db: Db, ctx: Ctx, id: string, patch: z.output<typeof updateAddOnBody>) {
  return db.transaction(async (tx) => {
    const a = await lockAddOn(tx, id);
    // As with plans: a published pack can be renamed; its price and terms change by new versions.
    if (a.status !== 'draft' && (patch.fee || patch.terms)) throw orderErrors.add_on_not_draft();
    checkValidity(a, patch.terms);
    if (!Object.keys(patch).length) return view(tx, a); // nothing changes: no event
    const [updated] = await tx.update(addOns).set({ ...(patch.name ? { name: patch.name } : {}), updatedAt: sql`now()` }).where(eq(addOns.id, id)).returning();
    if (patch.fee || patch.terms) {
      await tx.update(addOnVersions).set({
        ...(patch.fee ? { feeAmount: patch.fee.amount, currency: patch.fee.currency } : {}),
        ...(patch.terms ? { terms: patch.terms } : {}),
      }).where(and(eq(addOnVersions.addOnId, id), eq(addOnVersions.version, a.currentVersion)));
    }
    return changed(tx, ctx, updated!, 'add_on.updated', { fields: Object.keys(patch) });
  });
}

export async function publishAddOn(db: Db, ctx: Ctx, id: string) {
  return db.transaction(async (tx) => {
    const a = await lockAddOn(tx, id);
    if (a.status === 'retired') throw orderErrors.add_on_retired();
    if (a.status === 'active') return view(tx, a); // publishing twice changes nothing
    const [updated] = await tx.update(addOns).set({ status: 'active', updatedAt: sql`now()` }).where(eq(addOns.id, id)).returning();
    await tx.update(addOnVersions).set({ publishedAt: sql`now()` }).where(and(eq(addOnVersions.addOnId, id), eq(addOnVersions.version, a.currentVersion)));
    return changed(tx, ctx, updated!, 'add_on.published');
  });
}

/** New terms for an add-on on sale: new purchases get the new version; packs already bought keep theirs. */
export async function publishNewAddOnVersion(db: Db, ctx: Ctx, id: string, input: z.output<typeof newAddOnVersionBody>) {
  return db.transaction(async (tx) => {
    const a = await lockAddOn(tx, id);
    if (a.status !== 'active') throw a.status === 'retired' ? orderErrors.add_on_retired() : orderErrors.add_on_not_active('Edit the draft instead');
    checkValidity(a, input.terms);
    const [current] = await tx.select().from(addOnVersions).where(and(eq(addOnVersions.addOnId, id), eq(addOnVersions.version, a.currentVersion)));
    if (current!.currency !== input.fee.currency) throw orderErrors.currency_mismatch('A new version keeps the add-on\'s currency');
    const version = a.currentVersion + 1;
    await tx.insert(addOnVersions).values({
      id: uuidv7(), addOnId: id, version, feeAmount: input.fee.amount, currency: input.fee.currency, terms: input.terms, publishedAt: sql`now()`,
    });
    const [updated] = await tx.update(addOns).set({ currentVersion: version, updatedAt: sql`now()` }).where(eq(addOns.id, id)).returning();
    return changed(tx, ctx, updated!, 'add_on.version_published', { version });
  });
}

export async function retireAddOn(db: Db, ctx: Ctx, id: string) {
  return db.transaction(async (tx) => {
    const a = await lockAddOn(tx, id);
    if (a.status === 'retired') return view(tx, a);
    if (a.status !== 'active') throw orderErrors.add_on_not_active('A draft is not sold yet: nothing to retire');
    const [updated] = await tx.update(addOns).set({ status: 'retired', updatedAt: sql`now()` }).where(eq(addOns.id, id)).returning();
    return changed(tx, ctx, updated!, 'add_on.retired');
  });
}

export async function getAddOn(db: Db, ctx: Ctx, id: string) {
  const [a] = await db.select().from(addOns).where(and(eq(addOns.id, id), visible(ctx)));
  if (!a) throw orderErrors.add_on_not_found();
  return view(db, a);
}

export async function listAddOns(db: Db, ctx: Ctx, q: { status?: AddOnRow['status']; kind?: AddOnRow['kind']; limit: number; after?: string }) {
  const where: (SQL | undefined)[] = [visible(ctx)];
  if (q.status) where.push(eq(addOns.status, q.status));
  if (q.kind) where.push(eq(addOns.kind, q.kind));
  if (q.after) where.push(lt(addOns.id, q.after));
  return views(db, await db.select().from(addOns).where(and(...where)).orderBy(desc(addOns.id)).limit(q.limit + 1));
}

/** The add-on and its current version if it is on sale; else add_on_not_found (unknown) / add_on_retired / add_on_not_active (draft). */
export async function sellableAddOn(tx: Tx, id: string): Promise<{ addOn: AddOnRow; version: VersionRow }> {
  const [row] = await tx.select({ addOn: addOns, version: addOnVersions }).from(addOns)
    .innerJoin(addOnVersions, and(eq(addOnVersions.addOnId, addOns.id), eq(addOnVersions.version, addOns.currentVersion)))
    .where(eq(addOns.id, id));
  if (!row) throw orderErrors.add_on_not_found();
  if (row.addOn.status === 'retired') throw orderErrors.add_on_retired();
  if (row.addOn.status !== 'active') throw orderErrors.add_on_not_active();
  return row;
}
