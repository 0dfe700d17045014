import { and, desc, eq, lt, ne, sql, type SQL } from 'drizzle-orm';
import { audit, auditInsert, withReadAudit } from '../../platform/audit/audit.js';
import { customerScope, type CustomerScope } from '../../platform/auth/permissions.js';
import type { Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import type { FieldCrypto } from '../../platform/crypto/fields.js';
import { emit, eventInsert } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { customerErrors } from './errors.js';
import type { CreateCustomer, CustomerView, UpdateCustomer } from './schemas.js';
import { addresses, consentHistory, consents, contactPoints, customers, identityDocuments } from './tables.js';

export interface CustomerDeps {
  db: Db;
  /** Database.relaxed: where read audits go (see platform/db/client.ts). */
  readAuditDb: Db;
  crypto: FieldCrypto;
  /**
   * Whether a billing account still has lines that are not terminated: handed in by the orders
   * module (which builds on this one, so it cannot be imported). An account in use is not closed:
   * what its lines ran up after the final invoice would never be billed.
   */
  accountInUse?: (tx: Tx, billingAccountId: string) => Promise<boolean>;
  /** Told in the transaction that closes an account, or opens it again: billing closes its balance to credits. */
  accountStatusChanged?: (tx: Tx, billingAccountId: string, status: 'active' | 'closed') => Promise<void>;
}

type CustomerRow = typeof customers.$inferSelect;

/** The WHERE clause that keeps a principal inside its own customers (partner: acquired; customer: self). */
export function scopeWhere(scope: CustomerScope): SQL | undefined {
  if ('partnerId' in scope) return eq(customers.partnerId, scope.partnerId);
  if ('customerId' in scope) return eq(customers.id, scope.customerId);
  return undefined;
}

export function displayName(c: Pick<CustomerRow, 'type' | 'givenName' | 'familyName' | 'companyName' | 'status'>) {
  if (c.status === 'erased') return 'Erased customer';
  return c.type === 'business' ? (c.companyName ?? '') : [c.givenName, c.familyName].filter(Boolean).join(' ');
}

export const summaryOf = (c: CustomerRow) => ({
  id: c.id, type: c.type, segment: c.segment, status: c.status, displayName: displayName(c),
  preferredLanguage: c.preferredLanguage, partnerId: c.partnerId, createdAt: c.createdAt,
});

/**
 * Locks and returns a customer the caller may see, or answers 404: the guard for every
 * sub-resource. `share`: for another module's write about the customer (a ticket, say), which
 * need not wait for others like it, but an erasure waits for, or is seen by.
 */
export async function lockVisibleCustomer(tx: Tx, ctx: Ctx, id: string, opts: { writable?: boolean; share?: boolean } = {}) {
  const [row] = await tx.select().from(customers).where(and(eq(customers.id, id), scopeWhere(customerScope(ctx.principal)))).for(opts.share ? 'share' : 'update');
  if (!row) throw customerErrors.customer_not_found();
  if (opts.writable && row.status === 'erased') throw customerErrors.customer_erased();
  return row;
}

/** `number` is already normalised by the schema; a short number shows less of itself when masked. */
export function sealDocument(crypto: FieldCrypto, number: string) {
  return { numberEnc: crypto.encrypt(number), numberHash: crypto.lookupHash(number), numberLast4: number.slice(number.length >= 8 ? -4 : -2) };
}

function nameRule(c: { type: string; givenName?: string | null; familyName?: string | null; companyName?: string | null }) {
  const ok = c.type === 'business' ? !!c.companyName : !!(c.givenName && c.familyName);
  if (!ok) throw customerErrors.customer_name_required();
}

export async function createCustomer(deps: CustomerDeps, ctx: Ctx, input: CreateCustomer): Promise<CustomerView> {
  nameRule(input);
  const p = ctx.principal;
  // A partner's customers always belong to that partner, whatever the body says.
  const partnerId = p.kind === 'partner' ? p.partnerId : (input.partnerId ?? null);
  const id = uuidv7();
  const actor = `${p.kind}:${p.id}`;
  const db = deps.db;
  const parts = {
    contactPoints: input.contactPoints.map((c) => ({ id: uuidv7(), ...c })),
    addresses: input.addresses.map((a) => ({ id: uuidv7(), ...a })),
    identityDocuments: input.identityDocuments.map((d) => ({ id: uuidv7(), kind: d.kind, issuingCountry: d.issuingCountry, expiresOn: d.expiresOn, ...sealDocument(deps.crypto, d.number) })),
  };
  // Every write in one statement (data-modifying CTEs; the foreign keys are checked at its end):
  // atomic without BEGIN/COMMIT, and one round trip instead of ten.
  const writes: SQL[] = [db.insert(customers).values({
    id, type: input.type, segment: input.segment, givenName: input.givenName, familyName: input.familyName,
    companyName: input.companyName, preferredLanguage: input.preferredLanguage, timeZone: input.timeZone, partnerId,
    dateOfBirthEnc: input.dateOfBirth ? deps.crypto.encrypt(input.dateOfBirth) : null,
  }).returning({ at: customers.createdAt }).getSQL()];
  if (parts.contactPoints.length) writes.push(db.insert(contactPoints).values(parts.contactPoints.map((c) => ({ customerId: id, ...c }))).getSQL());
  if (parts.addresses.length) writes.push(db.insert(addresses).values(parts.addresses.map((a) => ({ customerId: id, ...a }))).getSQL());
  if (parts.identityDocuments.length) writes.push(db.insert(identityDocuments).values(parts.identityDocuments.map((d) => ({ customerId: id, ...d }))).getSQL());
  if (input.consents.length) {
    writes.push(db.insert(consents).values(input.consents.map((c) => ({ customerId: id, ...c }))).getSQL());
    writes.push(db.insert(consentHistory).values(input.consents.map((c) => ({ id: uuidv7(), customerId: id, actor, ...c }))).getSQL());
  }
  writes.push(eventInsert('customer.created', { customerId: id, type: input.type, segment: input.segment, partnerId }, { aggregateId: id, requestId: ctx.requestId }));
  writes.push(auditInsert(db, ctx, { action: 'customer.created', entityType: 'customer', entityId: id }).getSQL());
  const [row] = await db.execute<{ at: string }>(sql`${oneStatement(writes)} select created_at as at from w0`);
  // Every row of the statement carries the same now(): the record is known without reading it back.
  const at = new Date(row!.at);
  const created = {
    id, type: input.type, segment: input.segment, status: 'active' as const, givenName: input.givenName ?? null, familyName: input.familyName ?? null,
    companyName: input.companyName ?? null, preferredLanguage: input.preferredLanguage, timeZone: input.timeZone, partnerId,
    createdAt: at, updatedAt: at, erasedAt: null,
  };
  return {
    ...summaryOf(created as CustomerRow), givenName: created.givenName, familyName: created.familyName, companyName: created.companyName,
    timeZone: created.timeZone, dateOfBirth: input.dateOfBirth ?? null, updatedAt: at, erasedAt: null,
    contactPoints: parts.contactPoints.map((c) => ({ ...c, createdAt: at, undeliverableSince: null, undeliverableReason: null })),
    addresses: parts.addresses.map((a) => ({ line2: null, postcode: null, region: null, ...a, createdAt: at })),
    identityDocuments: parts.identityDocuments.map((d) => ({
      id: d.id, kind: d.kind, numberMasked: `****${d.numberLast4}`, issuingCountry: d.issuingCountry, expiresOn: d.expiresOn ?? null, createdAt: at,
    })),
    consents: [...input.consents].sort((a, b) => a.channel.localeCompare(b.channel)).map((c) => ({ ...c, recordedAt: at })),
    billingAccounts: [],
  };
}

/** `with w0 as (...), w1 as (...)`: the writes, to be followed by a select, run as one atomic statement. */
function oneStatement(writes: SQL[]): SQL {
  const ctes = sql.join(writes.map((w, i) => sql`${sql.raw(`w${i}`)} as (${w})`), sql`, `);
  return sql`with ${ctes}`;
}

/** The whole customer record with its parts, as one statement. */
function viewQuery(id: string, scope: CustomerScope): SQL {
  const scopeSql = 'partnerId' in scope ? sql`and c.partner_id = ${scope.partnerId}` : 'customerId' in scope ? sql`and c.id = ${scope.customerId}` : sql``;
  return sql`
    select c.*,
      coalesce((select json_agg(json_build_object('id', p.id, 'kind', p.kind, 'value', p.value, 'isPrimary', p.is_primary, 'createdAt', p.created_at,
          'undeliverableSince', p.undeliverable_since, 'undeliverableReason', p.undeliverable_reason) order by p.id)
        from customers.contact_points p where p.customer_id = c.id), '[]') as contact_points,
      coalesce((select json_agg(json_build_object('id', a.id, 'kind', a.kind, 'line1', a.line1, 'line2', a.line2, 'city', a.city, 'postcode', a.postcode,
          'region', a.region, 'country', a.country, 'createdAt', a.created_at) order by a.id)
        from customers.addresses a where a.customer_id = c.id), '[]') as addresses,
      coalesce((select json_agg(json_build_object('id', d.id, 'kind', d.kind, 'numberMasked', '****' || d.number_last4, 'issuingCountry', d.issuing_country,
          'expiresOn', d.expires_on, 'createdAt', d.created_at) order by d.id)
        from customers.identity_documents d where d.customer_id = c.id), '[]') as identity_documents,
      coalesce((select json_agg(json_build_object('channel', k.channel, 'granted', k.granted, 'source', k.source, 'recordedAt', k.recorded_at) order by k.channel)
        from customers.consents k where k.customer_id = c.id), '[]') as consents,
      coalesce((select json_agg(json_build_object('id', b.id, 'customerId', b.customer_id, 'name', b.name, 'type', b.type, 'currency', b.currency,
          'billCycleDay', b.bill_cycle_day, 'status', b.status, 'createdAt', b.created_at, 'updatedAt', b.updated_at) order by b.id)
        from customers.billing_accounts b where b.customer_id = c.id), '[]') as billing_accounts
    from customers.customers c where c.id = ${id} ${scopeSql}`;
}

export async function loadView(db: Tx, crypto: FieldCrypto, id: string, scope: CustomerScope): Promise<CustomerView | undefined> {
  const rows = await db.execute<Record<string, unknown>>(viewQuery(id, scope));
  return rows[0] && toView(rows[0], crypto);
}

function toView(r: Record<string, unknown>, crypto: FieldCrypto): CustomerView {
  const dates = <T extends Record<string, unknown>>(items: T[], ...keys: string[]) =>
    items.map((i) => ({ ...i, ...Object.fromEntries(keys.map((k) => [k, i[k] ? new Date(i[k] as string) : i[k]])) }));
  const row = {
    id: r.id, type: r.type, segment: r.segment, status: r.status, givenName: r.given_name, familyName: r.family_name,
    companyName: r.company_name, preferredLanguage: r.preferred_language, timeZone: r.time_zone, partnerId: r.partner_id,
    createdAt: new Date(r.created_at as string), updatedAt: new Date(r.updated_at as string), erasedAt: r.erased_at ? new Date(r.erased_at as string) : null,
  } as CustomerRow;
  return {
    ...summaryOf(row),
    givenName: row.givenName, familyName: row.familyName, companyName: row.companyName, timeZone: row.timeZone,
    dateOfBirth: r.date_of_birth_enc ? crypto.decrypt(r.date_of_birth_enc as string) : null,
    updatedAt: row.updatedAt, erasedAt: row.erasedAt,
    contactPoints: dates(r.contact_points as never[], 'createdAt', 'undeliverableSince'),
    addresses: dates(r.addresses as never[], 'createdAt'),
    identityDocuments: dates(r.identity_documents as never[], 'createdAt'),
    consents: dates(r.consents as never[], 'recordedAt'),
    billingAccounts: dates(r.billing_accounts as never[], 'createdAt', 'updatedAt'),
  };
}

/** A staff or partner read of personal data leaves an audit row; a customer reading itself does not. */
export async function getCustomer(deps: CustomerDeps, ctx: Ctx, id: string) {
  const query = viewQuery(id, customerScope(ctx.principal));
  const rows = ctx.principal.kind === 'customer'
    ? await deps.db.execute<Record<string, unknown>>(query)
    : await deps.readAuditDb.execute<Record<string, unknown>>(withReadAudit(ctx, { action: 'customer.read', entityType: 'customer', entityId: id }, query));
  if (!rows[0]) throw customerErrors.customer_not_found();
  return toView(rows[0], deps.crypto);
}

export async function updateCustomer(deps: CustomerDeps, ctx: Ctx, id: string, patch: UpdateCustomer) {
  const staffOnly = (['segment', 'status', 'partnerId'] as const).filter((f) => f in patch);
  if (ctx.principal.kind !== 'staff' && staffOnly.length) throw customerErrors.field_not_editable(`Only staff may change ${staffOnly.join(', ')}`);
  return deps.db.transaction(async (tx) => {
    const current = await lockVisibleCustomer(tx, ctx, id, { writable: true });
    if (!Object.keys(patch).length) return (await loadView(tx, deps.crypto, id, { all: true }))!; // nothing changes: no event
    const { dateOfBirth, ...plain } = patch;
    nameRule({ ...current, ...plain });
    const set: Partial<typeof customers.$inferInsert> = { ...plain, updatedAt: sql`now()` as unknown as Date };
    if (dateOfBirth !== undefined) set.dateOfBirthEnc = dateOfBirth === null ? null : deps.crypto.encrypt(dateOfBirth);
    await tx.update(customers).set(set).where(eq(customers.id, id));
    const fields = Object.keys(patch);
    await emit(tx, 'customer.updated', { customerId: id, fields }, { aggregateId: id, requestId: ctx.requestId });
    await audit(tx, ctx, { action: 'customer.updated', entityType: 'customer', entityId: id, details: { fields } });
    return (await loadView(tx, deps.crypto, id, { all: true }))!;
  });
}

/** For other modules and the platform: does this customer exist (erased ones are not)? */
export async function customerExists(db: Tx, id: string): Promise<boolean> {
  // An erased customer is a tombstone: nothing new (a key, say) is made for it.
  const [row] = await db.select({ id: customers.id }).from(customers).where(and(eq(customers.id, id), ne(customers.status, 'erased')));
  return !!row;
}

/** The customer's status and segment if the caller may see it, else undefined (no read audit: no personal data). */
export async function customerVisible(db: Tx, ctx: Ctx, id: string): Promise<Pick<CustomerRow, 'status' | 'segment' | 'preferredLanguage'> | undefined> {
  const [row] = await db.select({ status: customers.status, segment: customers.segment, preferredLanguage: customers.preferredLanguage }).from(customers).where(and(eq(customers.id, id), scopeWhere(customerScope(ctx.principal))));
  return row;
}

/**
 * For another module writing about a customer (a ticket, a contact, a priced order): the customer
 * if the caller may see it (else 404 customer_not_found), not erased (else 409 customer_erased),
 * read FOR SHARE until the caller's transaction ends, so that an erasure waits for the write or is seen by it.
 */
export const customerForWrite = (tx: Tx, ctx: Ctx, id: string) => lockVisibleCustomer(tx, ctx, id, { writable: true, share: true });

export interface ListCustomers {
  limit: number;
  after?: string;
  segment?: CustomerRow['segment'];
  status?: CustomerRow['status'];
  type?: CustomerRow['type'];
  partnerId?: string;
}

export async function listCustomers(deps: CustomerDeps, ctx: Ctx, q: ListCustomers) {
  const where: (SQL | undefined)[] = [scopeWhere(customerScope(ctx.principal))];
  if (q.after) where.push(lt(customers.id, q.after));
  if (q.segment) where.push(eq(customers.segment, q.segment));
  if (q.status) where.push(eq(customers.status, q.status));
  if (q.type) where.push(eq(customers.type, q.type));
  if (q.partnerId) where.push(eq(customers.partnerId, q.partnerId));
  const rows = await deps.db.select().from(customers).where(and(...where)).orderBy(desc(customers.id)).limit(q.limit + 1);
  if (ctx.principal.kind !== 'customer' && rows.length) {
    await audit(deps.readAuditDb, ctx, { action: 'customer.listed', entityType: 'customer', entityId: '*', details: { results: rows.slice(0, q.limit).map((r) => r.id) } });
  }
  return rows.map(summaryOf);
}
