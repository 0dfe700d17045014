import { type SQL, sql } from 'drizzle-orm';
import type { Tx } from '../../platform/db/client.js';
import { lines } from './lines-tables.js';
import { pricePlans } from './tables.js';

/**
 * Whether a customer has a line (not terminated) on one of these price plans (by code), as a
 * condition on a customer id that another module's query supplies: campaigns select their
 * segments with it without reading this module's tables.
 */
export const onPricePlans = (codes: string[]) => (customerId: SQL) => sql`exists (select 1 from ${lines} l join ${pricePlans} p on p.id = l.plan_id
  where l.customer_id = ${customerId} and l.status <> 'terminated' and p.code = any(${sql.param(codes)}::text[]))`;

/** Of these price plan codes, those the catalog has never had. */
export async function unknownPricePlans(tx: Tx, codes: string[]) {
  if (!codes.length) return [];
  const known = await tx.execute<{ code: string }>(sql`select code from ${pricePlans} where code = any(${sql.param(codes)}::text[])`);
  const found = new Set(known.map((k) => k.code));
  return codes.filter((c) => !found.has(c));
}

/** Of these customers, those with a line on one of these plans. */
export async function customersOnPricePlans(tx: Tx, customerIds: string[], codes: string[]) {
  if (!customerIds.length) return new Set<string>();
  const rows = await tx.execute<{ id: string }>(sql`select c.id from unnest(${sql.param(customerIds)}::uuid[]) as c(id) where ${onPricePlans(codes)(sql`c.id`)}`);
  return new Set(rows.map((r) => r.id));
}
