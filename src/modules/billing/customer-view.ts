import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { dateOrNull, viewPart } from '../customers/index.js';
import { invoices } from './invoice-tables.js';
import { balances } from './tables.js';

const money = z.object({ amount: z.number().int(), currency: z.string() });
const accountMoney = z.object({
  billingAccountId: z.uuid().describe('One of customer.billingAccounts (its name, type and status are there)'),
  type: z.enum(['prepaid', 'postpaid']),
  balance: money.nullable().describe('Prepaid: what the balance holds (0 until its first movement); postpaid: null'),
  creditLimit: money.nullable(),
  validUntil: z.date().nullable().describe('Prepaid: when the money on it expires'),
  openInvoices: z.number().int().describe('Invoices not yet settled'),
  due: money.describe('What those invoices still ask for'),
  overdue: money.describe('The part of it past its due date'),
});
const billingPart = z.object({ accounts: z.array(accountMoney) });
type Row = { id: string; amount: number | null; creditLimit: number | null; validUntil: string | null; openInvoices: number; due: number; overdue: number };

/**
 * Billing's part of the customer view: every billing account's money — the prepaid balance, and
 * the invoices still open with what is due and overdue — by account id (the balance's key; the
 * invoices' account-and-period key). Raises `overdue_invoices`.
 */
export const billingViewPart = viewPart({
  name: 'billing',
  schema: billingPart,
  query: (customer) => (customer.billingAccounts.length ? sql`
    select coalesce(json_agg(json_build_object('id', a.id, 'amount', b.amount, 'creditLimit', b.credit_limit, 'validUntil', b.valid_until,
        'openInvoices', i.n, 'due', i.due, 'overdue', i.overdue) order by a.pos), '[]')
    from unnest(${sql.param(customer.billingAccounts.map((x) => x.id))}::uuid[]) with ordinality as a(id, pos)
    left join ${balances} b on b.billing_account_id = a.id
    cross join lateral (
      select count(*) as n, coalesce(sum(total - paid - credited), 0) as due, coalesce(sum(total - paid - credited) filter (where due_at < now()), 0) as overdue
      from ${invoices} where billing_account_id = a.id and paid + credited < total) i` : null),
  read: (raw, customer) => ({
    accounts: ((raw ?? []) as Row[]).map((r, k) => {
      const { type, currency } = customer.billingAccounts[k]!;
      const prepaid = type === 'prepaid';
      return {
        billingAccountId: r.id, type,
        balance: prepaid ? { amount: r.amount ?? 0, currency } : null, creditLimit: prepaid ? { amount: r.creditLimit ?? 0, currency } : null,
        validUntil: dateOrNull(r.validUntil),
        openInvoices: r.openInvoices, due: { amount: r.due, currency }, overdue: { amount: r.overdue, currency },
      };
    }),
  }),
  flags: (data: z.infer<typeof billingPart>) => {
    const late = data.accounts.filter((a) => a.overdue.amount > 0);
    return late.length ? [{ code: 'overdue_invoices', detail: `${late.length} account(s) with overdue invoices` }] : [];
  },
});
