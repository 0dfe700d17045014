import { and, desc, eq, ilike, inArray, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { customerScope } from '../../platform/auth/permissions.js';
import type { Ctx } from '../../platform/context.js';
import { customerErrors } from './errors.js';
import { type CustomerDeps, scopeWhere, summaryOf } from './service.js';
import { contactPoints, customers, identityDocuments } from './tables.js';

export interface CustomerSearch {
  msisdn?: string;
  email?: string;
  name?: string;
  documentNumber?: string;
  limit: number;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Finds customers by exactly one key. MSISDN matches the customer's phone contact points until the
 * orders module owns lines; document numbers match through their keyed hash, never decrypted.
 */
export async function searchCustomers(deps: CustomerDeps, ctx: Ctx, q: CustomerSearch) {
  const given = (['msisdn', 'email', 'name', 'documentNumber'] as const).filter((k) => q[k] !== undefined);
  if (given.length !== 1) throw customerErrors.invalid_search();
  const by = given[0]!;
  const db = deps.db;
  let match;
  if (by === 'msisdn' || by === 'email') {
    const kind = by === 'msisdn' ? 'phone' : 'email';
    const value = by === 'email' ? q.email!.toLowerCase() : q.msisdn!;
    match = inArray(customers.id, db.select({ id: contactPoints.customerId }).from(contactPoints).where(and(eq(contactPoints.kind, kind), eq(contactPoints.value, value))));
  } else if (by === 'documentNumber') {
    const hash = deps.crypto.lookupHash(q.documentNumber!);
    match = inArray(customers.id, db.select({ id: identityDocuments.customerId }).from(identityDocuments).where(eq(identityDocuments.numberHash, hash)));
  } else {
    match = ilike(customers.nameSearch, `%${escapeLike(q.name!.toLowerCase())}%`);
  }
  const rows = await db.select().from(customers)
    .where(and(match, scopeWhere(customerScope(ctx.principal)), sql`${customers.status} <> 'erased'`))
    .orderBy(desc(customers.id)).limit(q.limit);
  if (ctx.principal.kind !== 'customer') {
    await audit(deps.readAuditDb, ctx, { action: 'customer.searched', entityType: 'customer', entityId: '*', details: { by, results: rows.map((r) => r.id) } });
  }
  return rows.map(summaryOf);
}
