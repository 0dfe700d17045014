import { sql } from 'drizzle-orm';
import type { Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { customersInAreas } from '../customers/index.js';
import { incidentCustomers, incidents, type ServiceType } from './tables.js';

type Incident = typeof incidents.$inferSelect;

/** Customers per `outage.customers_affected` event: a large area is told in several events. */
const PER_EVENT = 1000;

export async function tellAffected(tx: Tx, i: Incident, customerIds: string[], reason: 'affected' | 'resolved') {
  for (let part = 0; part * PER_EVENT < customerIds.length; part += 1) {
    await emit(tx, 'outage.customers_affected', {
      incidentId: i.id, status: i.status, reason, title: i.title, statusText: i.statusText, startsAt: i.startsAt, estimatedEndAt: i.estimatedEndAt, endedAt: i.endedAt,
      customerIds: customerIds.slice(part * PER_EVENT, (part + 1) * PER_EVENT), part: part + 1, parts: Math.ceil(customerIds.length / PER_EVENT),
    }, { aggregateId: i.id });
  }
}

/**
 * The customers an open or planned incident touches, computed again from its areas (customers
 * moved, areas changed): returns them all and those newly touched; those no longer touched are
 * dropped. Cells match no one yet: no module knows which cell serves a customer.
 */
export async function refreshAffected(tx: Tx, i: Incident) {
  const all = await customersInAreas(tx, { postcodes: i.areas.postcodes, regions: i.areas.regions });
  await tx.execute(sql`delete from ${incidentCustomers} where incident_id = ${i.id} and customer_id <> all(${sql.param(all)}::uuid[])`);
  const added = await tx.execute<{ customerId: string }>(sql`
    insert into ${incidentCustomers} (incident_id, customer_id) select ${i.id}, unnest(${sql.param(all)}::uuid[])
    on conflict do nothing returning customer_id as "customerId"`);
  return { all, added: added.map((r) => r.customerId) };
}

/** On resolution the same customers are told it is over. */
export async function announceResolved(tx: Tx, i: Incident) {
  const rows = await tx.execute<{ customerId: string }>(sql`select customer_id as "customerId" from ${incidentCustomers} where incident_id = ${i.id} order by customer_id`);
  await tellAffected(tx, i, rows.map((r) => r.customerId), 'resolved');
}

/**
 * The open incident a new ticket of this customer belongs to: one touching the customer and the
 * ticket's service (any service, for an outage ticket), the oldest first. Held FOR SHARE until the
 * ticket is in, so that the incident cannot be resolved between (its tickets would be missed).
 */
export async function openIncidentFor(tx: Tx, customerId: string, serviceType: ServiceType) {
  const [row] = await tx.execute<{ id: string; title: string; statusText: Record<string, string> }>(sql`
    select i.id, i.title, i.status_text as "statusText" from ${incidents} i join ${incidentCustomers} ic on ic.incident_id = i.id
    where ic.customer_id = ${customerId} and i.status = 'open' and (i.services ? ${serviceType} or ${serviceType} = 'outage')
    order by i.starts_at, i.id limit 1 for share of i`);
  return row;
}
