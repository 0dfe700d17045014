import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { dateOrNull, viewPart } from '../customers/index.js';
import { lineAddOns, lines, orderStatuses, orderTypes, orders } from './lines-tables.js';
import { addOns, pricePlans, pricePlanVersions } from './tables.js';

const VIEW_LINES = 20;
const VIEW_ORDERS = 5;

const id = z.uuid();
const lineView = z.object({
  id, msisdn: z.string(), kind: z.enum(['prepaid', 'postpaid']), status: z.enum(['active', 'suspended', 'barred']),
  restriction: z.string().nullable().describe('Why usage is barred or slowed (balance, usage_cap, spend_cap, dunning)'),
  billingAccountId: id, activatedAt: z.date(), cycleEnd: z.date(),
  plan: z.object({ id, code: z.string(), name: z.string(), version: z.number().int(), recurringFee: z.object({ amount: z.number().int(), currency: z.string() }) }),
  addOns: z.array(z.object({ id, addOnId: id, code: z.string(), name: z.string(), kind: z.enum(['one_off', 'recurring']), expiresAt: z.date() })),
});
const orderView = z.object({
  id, type: z.enum(orderTypes), status: z.enum(orderStatuses), lineId: id.nullable(), billingAccountId: id,
  scheduledFor: z.date().nullable(), createdAt: z.date(), completedAt: z.date().nullable(),
});
const ordersPart = z.object({
  lines: z.array(lineView).describe(`The lines not terminated, oldest first (at most ${VIEW_LINES}), with their plan and active add-ons`),
  moreLines: z.boolean().describe('The customer has more lines than shown (GET /v1/lines?customerId=...)'),
  recentOrders: z.array(orderView).describe(`The ${VIEW_ORDERS} most recent orders, newest first`),
});

type Pack = { id: string; addOnId: string; code: string; name: string; kind: 'one_off' | 'recurring'; expiresAt: string };
type LineJson = {
  id: string; msisdn: string; kind: 'prepaid' | 'postpaid'; status: 'active' | 'suspended' | 'barred'; restriction: string | null; billingAccountId: string;
  activatedAt: string; cycleEnd: string; planId: string; planCode: string; planName: string; version: number; fee: number; currency: string; addOns: Pack[];
};
type OrderJson = { id: string; type: (typeof orderTypes)[number]; status: (typeof orderStatuses)[number]; lineId: string | null; billingAccountId: string; scheduledFor: string | null; createdAt: string; completedAt: string | null };

/**
 * Orders' part of the customer view: its lines with plan and active packs, and its last orders,
 * by customer on each table's customer index.
 */
export const ordersViewPart = viewPart({
  name: 'orders',
  schema: ordersPart,
  query: (customer) => sql`
    select json_build_object(
      'lines', (select coalesce(json_agg(json_build_object('id', l.id, 'msisdn', l.msisdn, 'kind', l.kind, 'status', l.status, 'restriction', l.restriction,
          'billingAccountId', l.billing_account_id, 'activatedAt', l.activated_at, 'cycleEnd', l.cycle_end,
          'planId', p.id, 'planCode', p.code, 'planName', p.name, 'version', v.version, 'fee', v.fee_amount, 'currency', v.currency,
          'addOns', coalesce((select json_agg(json_build_object('id', la.id, 'addOnId', la.add_on_id, 'code', a.code, 'name', a.name, 'kind', la.kind, 'expiresAt', la.expires_at)
              order by la.starts_at, la.id)
            from ${lineAddOns} la join ${addOns} a on a.id = la.add_on_id where la.line_id = l.id and la.status = 'active' and la.expires_at > now()), '[]')
        ) order by l.id), '[]')
        from (select * from ${lines} where customer_id = ${customer.id} and status <> 'terminated' order by id limit ${VIEW_LINES + 1}) l
        join ${pricePlans} p on p.id = l.plan_id join ${pricePlanVersions} v on v.id = l.plan_version_id),
      'recentOrders', (select coalesce(json_agg(o order by o.id desc), '[]') from (
        select id, type, status, line_id as "lineId", billing_account_id as "billingAccountId", scheduled_for as "scheduledFor", created_at as "createdAt", completed_at as "completedAt"
        from ${orders} where customer_id = ${customer.id} order by id desc limit ${VIEW_ORDERS}) o))`,
  read: (raw) => {
    const { lines: found, recentOrders } = raw as { lines: LineJson[]; recentOrders: OrderJson[] };
    return {
      lines: found.slice(0, VIEW_LINES).map((l) => ({
        id: l.id, msisdn: l.msisdn, kind: l.kind, status: l.status, restriction: l.restriction, billingAccountId: l.billingAccountId,
        activatedAt: new Date(l.activatedAt), cycleEnd: new Date(l.cycleEnd),
        plan: { id: l.planId, code: l.planCode, name: l.planName, version: l.version, recurringFee: { amount: l.fee, currency: l.currency } },
        addOns: l.addOns.map((a) => ({ ...a, expiresAt: new Date(a.expiresAt) })),
      })),
      moreLines: found.length > VIEW_LINES,
      recentOrders: recentOrders.map((o) => ({ ...o, scheduledFor: dateOrNull(o.scheduledFor), createdAt: new Date(o.createdAt), completedAt: dateOrNull(o.completedAt) })),
    };
  },
});
