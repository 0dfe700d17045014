import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { audit } from '../../platform/audit/audit.js';
import { customerScope } from '../../platform/auth/permissions.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import { type Bound, prebuilt } from '../../platform/db/prebuilt.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { addressInAreas } from './areas.js';
import { customerErrors } from './errors.js';
import type { addressInput, billingAccountInput, consentInput, contactPointInput, identityDocumentInput, updateBillingAccountBody } from './schemas.js';
import { type CustomerDeps, lockVisibleCustomer, scopeWhere, sealDocument } from './service.js';
import { addresses, billingAccounts, consentHistory, consents, contactPoints, customers, identityDocuments } from './tables.js';

/** Every change to a customer's parts: lock the visible customer, write, emit, audit — one transaction. */
async function change<T>(deps: CustomerDeps, ctx: Ctx, customerId: string, event: string, fn: (tx: Tx) => Promise<T & { id: string }>) {
  return deps.db.transaction(async (tx) => {
    await lockVisibleCustomer(tx, ctx, customerId, { writable: true });
    const result = await fn(tx);
    await emit(tx, event, { customerId, id: result.id }, { aggregateId: customerId, requestId: ctx.requestId });
    await audit(tx, ctx, { action: event, entityType: 'customer', entityId: customerId, details: { partId: result.id } });
    await tx.update(customers).set({ updatedAt: sql`now()` }).where(eq(customers.id, customerId));
    return result;
  });
}

export const addContactPoint = (deps: CustomerDeps, ctx: Ctx, customerId: string, input: z.output<typeof contactPointInput>) =>
  change(deps, ctx, customerId, 'customer.contact_point.added', async (tx) => {
    if (input.isPrimary) {
      await tx.update(contactPoints).set({ isPrimary: false }).where(and(eq(contactPoints.customerId, customerId), eq(contactPoints.kind, input.kind)));
    }
    const [row] = await tx.insert(contactPoints).values({ id: uuidv7(), customerId, ...input }).returning();
    return row!;
  });

export const removeContactPoint = (deps: CustomerDeps, ctx: Ctx, customerId: string, id: string) =>
  change(deps, ctx, customerId, 'customer.contact_point.removed', async (tx) => {
    const [row] = await tx.delete(contactPoints).where(and(eq(contactPoints.id, id), eq(contactPoints.customerId, customerId))).returning({ id: contactPoints.id });
    if (!row) throw customerErrors.contact_point_not_found();
    return row;
  });

export const addAddress = (deps: CustomerDeps, ctx: Ctx, customerId: string, input: z.output<typeof addressInput>) =>
  change(deps, ctx, customerId, 'customer.address.added', async (tx) => {
    const [row] = await tx.insert(addresses).values({ id: uuidv7(), customerId, ...input }).returning();
    return row!;
  });

export const removeAddress = (deps: CustomerDeps, ctx: Ctx, customerId: string, id: string) =>
  change(deps, ctx, customerId, 'customer.address.removed', async (tx) => {
    const [row] = await tx.delete(addresses).where(and(eq(addresses.id, id), eq(addresses.customerId, customerId))).returning({ id: addresses.id });
    if (!row) throw customerErrors.address_not_found();
    return row;
  });

export const addIdentityDocument = (deps: CustomerDeps, ctx: Ctx, customerId: string, input: z.output<typeof identityDocumentInput>) =>
  change(deps, ctx, customerId, 'customer.identity_document.added', async (tx) => {
    const [row] = await tx.insert(identityDocuments).values({
      id: uuidv7(), customerId, kind: input.kind, issuingCountry: input.issuingCountry, expiresOn: input.expiresOn, ...sealDocument(deps.crypto, input.number),
    }).returning();
    const { numberEnc: _e, numberHash: _h, numberLast4, ...rest } = row!;
    return { ...rest, numberMasked: `****${numberLast4}` };
  });

export const removeIdentityDocument = (deps: CustomerDeps, ctx: Ctx, customerId: string, id: string) =>
  change(deps, ctx, customerId, 'customer.identity_document.removed', async (tx) => {
    const [row] = await tx.delete(identityDocuments).where(and(eq(identityDocuments.id, id), eq(identityDocuments.customerId, customerId))).returning({ id: identityDocuments.id });
    if (!row) throw customerErrors.identity_document_not_found();
    return row;
  });

export async function setConsent(deps: CustomerDeps, ctx: Ctx, customerId: string, channel: 'sms' | 'email' | 'push' | 'voice', input: z.output<typeof consentInput>) {
  if (channel === 'voice') throw customerErrors.telemarketing_not_allowed();
  return deps.db.transaction(async (tx) => {
    await lockVisibleCustomer(tx, ctx, customerId, { writable: true });
    return recordConsent(tx, ctx, customerId, channel, input);
  });
}

/** A consent given or withdrawn, with its history, event and audit, in the caller's transaction (messaging's STOP keyword). */
export async function recordConsent(tx: Tx, ctx: Ctx, customerId: string, channel: 'sms' | 'email' | 'push', input: { granted: boolean; source: string }) {
  const [row] = await tx.insert(consents).values({ customerId, channel, ...input })
    .onConflictDoUpdate({ target: [consents.customerId, consents.channel], set: { granted: input.granted, source: input.source, recordedAt: sql`now()` } })
    .returning();
  await tx.insert(consentHistory).values({ id: uuidv7(), customerId, channel, ...input, actor: actorOf(ctx) });
  await emit(tx, 'customer.consent.changed', { customerId, channel, granted: input.granted }, { aggregateId: customerId, requestId: ctx.requestId });
  await audit(tx, ctx, { action: 'customer.consent.changed', entityType: 'customer', entityId: customerId, details: { channel, granted: input.granted } });
  return row!;
}

/**
 * Withdraws a consent that is granted now (of a customer not erased), under its row's lock: of
 * concurrent withdrawals the first records it, the others find it withdrawn. False when there was
 * nothing to withdraw (no further history row, event or audit entry).
 */
export async function withdrawConsent(tx: Tx, ctx: Ctx, customerId: string, channel: 'sms' | 'email' | 'push', source: string, opts: { givenBefore?: Date } = {}) {
  // `givenBefore`: what the customer said about a message (a complaint) does not undo a consent given after it.
  const before = opts.givenBefore ? sql` and k.recorded_at <= ${opts.givenBefore.toISOString()}` : sql``;
  const held = await tx.execute(sql`select 1 from ${consents} k join ${customers} c on c.id = k.customer_id
    where k.customer_id = ${customerId} and k.channel = ${channel} and k.granted and c.status <> 'erased'${before} for update of k`);
  if (!held.length) return false;
  await recordConsent(tx, ctx, customerId, channel, { granted: false, source });
  return true;
}

/**
 * An email address the mail provider says was gone for good at `at` (a hard bounce): every
 * customer's contact point with it, added before then, is marked, evented and audited, once. One
 * added since (the customer says it works again) is not marked by the old bounce sent again. The
 * reason stays on the contact point (erased with it): the event and the audit, which outlive
 * erasure, do not carry it, as a server's answer often names the address.
 */
export async function markUndeliverable(tx: Tx, ctx: Ctx, address: string, at: Date, reason: string) {
  const marked = await tx.update(contactPoints).set({ undeliverableSince: sql`now()`, undeliverableReason: reason.slice(0, 500) })
    .where(and(eq(contactPoints.kind, 'email'), eq(contactPoints.value, address.toLowerCase()), sql`${contactPoints.undeliverableSince} is null`,
      sql`${contactPoints.createdAt} <= ${at.toISOString()}`))
    .returning({ id: contactPoints.id, customerId: contactPoints.customerId });
  for (const m of marked) {
    await emit(tx, 'customer.contact_point.undeliverable', { customerId: m.customerId, id: m.id }, { aggregateId: m.customerId, requestId: ctx.requestId });
    await audit(tx, ctx, { action: 'customer.contact_point.undeliverable', entityType: 'customer', entityId: m.customerId, details: { partId: m.id } });
  }
  return [...new Set(marked.map((m) => m.customerId))];
}

/** Whether mail to this address of the customer's bounced for good since it was given (messaging skips it). */
export async function emailUndeliverable(tx: Tx, customerId: string, address: string) {
  const [row] = await tx.execute(sql`select 1 from ${contactPoints} where customer_id = ${customerId} and kind = 'email'
    and value = ${address.toLowerCase()} and undeliverable_since is not null limit 1`);
  return Boolean(row);
}

/** The customers (not erased) with this phone number (E.164) or email address among their contact points. */
export async function customersByContact(tx: Tx, kind: 'phone' | 'email', value: string) {
  const rows = await tx.selectDistinct({ id: contactPoints.customerId }).from(contactPoints).innerJoin(customers, eq(customers.id, contactPoints.customerId))
    .where(and(eq(contactPoints.kind, kind), eq(contactPoints.value, kind === 'email' ? value.toLowerCase() : value), sql`${customers.status} <> 'erased'`));
  return rows.map((r) => r.id);
}

export const createBillingAccount = (deps: CustomerDeps, ctx: Ctx, customerId: string, input: z.output<typeof billingAccountInput>) => {
  if ((input.type === 'postpaid') !== (input.billCycleDay !== undefined)) {
    throw customerErrors.billing_cycle_mismatch();
  }
  return change(deps, ctx, customerId, 'billing_account.created', async (tx) => {
    const [row] = await tx.insert(billingAccounts).values({ id: uuidv7(), customerId, ...input }).returning();
    return row!;
  });
};

export const updateBillingAccount = (deps: CustomerDeps, ctx: Ctx, customerId: string, id: string, patch: z.output<typeof updateBillingAccountBody>) =>
  change(deps, ctx, customerId, 'billing_account.updated', async (tx) => {
    // Locked: a line being activated on the account (which reads it FOR SHARE) and its closing go one after the other.
    const [current] = await tx.select().from(billingAccounts).where(and(eq(billingAccounts.id, id), eq(billingAccounts.customerId, customerId))).for('update');
    if (!current) throw customerErrors.billing_account_not_found();
    if (patch.billCycleDay !== undefined && current.type !== 'postpaid') throw customerErrors.billing_cycle_mismatch();
    if (patch.status === 'closed' && current.status === 'active' && await deps.accountInUse?.(tx, id)) throw customerErrors.billing_account_in_use();
    const [row] = await tx.update(billingAccounts).set({ ...patch, updatedAt: sql`now()` }).where(eq(billingAccounts.id, id)).returning();
    // Billing and orders react: a closed postpaid account gets its final invoice, its lines follow a new bill-cycle day.
    const meta = { aggregateId: id, requestId: ctx.requestId };
    if (current.status === 'active' && row!.status === 'closed') await emit(tx, 'billing_account.closed', { billingAccountId: id, customerId, type: row!.type }, meta);
    if (current.status !== row!.status) await deps.accountStatusChanged?.(tx, id, row!.status);
    if (row!.billCycleDay !== current.billCycleDay) {
      await emit(tx, 'billing_account.bill_cycle_changed', { billingAccountId: id, customerId, from: current.billCycleDay, to: row!.billCycleDay }, meta);
    }
    return row!;
  });

/** For other modules (billing, orders): a billing account the caller may see, or undefined. */
export async function findBillingAccount(db: Tx, ctx: Ctx, id: string, opts: { share?: boolean } = {}): Promise<typeof billingAccounts.$inferSelect | undefined> {
  // Written out: every payment, recharge and redemption asks, and drizzle's select builder costs more CPU than the query.
  const scope = scopeWhere(customerScope(ctx.principal));
  const [row] = await db.execute<Omit<typeof billingAccounts.$inferSelect, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string }>(scope
    ? accountQuery(sql`${id}`, scope, opts.share ?? false)
    : (opts.share ? everyAccountShared : everyAccount)({ id }));
  return row && { ...row, createdAt: new Date(row.createdAt), updatedAt: new Date(row.updatedAt) };
}

const accountQuery = (id: SQL | Bound, scope: SQL | undefined, share: boolean) => sql`
  select a.id, a.customer_id as "customerId", a.name, a.type, a.currency, a.bill_cycle_day as "billCycleDay", a.status,
    a.created_at as "createdAt", a.updated_at as "updatedAt"
  from ${billingAccounts} a join ${customers} on ${customers.id} = a.customer_id
  where a.id = ${id}${scope ? sql` and ${scope}` : sql``}${share ? sql` for share of a` : sql``}`;
// Prebuilt for callers who see every account (staff, the system): most of those who ask.
const everyAccount = prebuilt(['id'], (v) => accountQuery(v.id, undefined, false));
const everyAccountShared = prebuilt(['id'], (v) => accountQuery(v.id, undefined, true));

/**
 * For the bill run: every open postpaid account, with the country its invoices are taxed in (the
 * customer's billing address, else home address; null when there is neither).
 */
export async function postpaidAccounts(db: Tx) {
  return accountsToBill(db, sql`a.status = 'active'`);
}

/** One postpaid account as the bill run sees it, open or closed (a closed one's final invoice). */
export async function postpaidAccount(db: Tx, id: string) {
  const [account] = await accountsToBill(db, sql`a.id = ${id}`);
  return account;
}

function accountsToBill(db: Tx, where: SQL) {
  return db.execute<{ id: string; customerId: string; currency: string; billCycleDay: number; country: string | null }>(sql`
    select a.id, a.customer_id as "customerId", a.currency, a.bill_cycle_day as "billCycleDay",
      (select country from ${addresses} ad where ad.customer_id = a.customer_id and ad.kind in ('billing', 'home')
        order by ad.kind = 'billing' desc, ad.id limit 1) as country
    from ${billingAccounts} a where a.type = 'postpaid' and ${where} order by a.id`);
}

/**
 * The active or suspended customers living or installed in any of the postcodes or regions (home,
 * installation or billing address; case ignored): whom an outage there touches.
 */
export async function customersInAreas(db: Tx, areas: { postcodes: string[]; regions: string[] }) {
  if (!areas.postcodes.length && !areas.regions.length) return [];
  const rows = await db.execute<{ id: string }>(sql`
    select distinct ad.customer_id as id from ${addresses} ad join ${customers} c on c.id = ad.customer_id
    where c.status in ('active', 'suspended') and ${addressInAreas(areas)}`);
  return rows.map((r) => r.id);
}
