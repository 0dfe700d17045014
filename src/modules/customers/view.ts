/**
 * The customer 360° view is composed of parts: the customer record itself (this module, the root)
 * and one part from every module that has something to say about a customer (billing: balances and
 * invoices; orders: lines and orders; service: tickets, interactions, incidents; vouchers: PIN
 * lockouts; later campaigns, partners). The contract lives here, in the core every module builds
 * on; the service module composes the parts it is handed (src/app.ts makes the list), so it never
 * knows another module's tables, and a new module joins the view by exporting a part.
 */
import type { SQL } from 'drizzle-orm';
import type { z } from 'zod';
import type { Ctx } from '../../platform/context.js';
import { customer as customerSchema, type CustomerView } from './schemas.js';
import { type CustomerDeps, getCustomer } from './service.js';

/** What every part is told about the customer: found, and visible to the caller. No personal data. */
export interface ViewSubject {
  id: string;
  segment: CustomerView['segment'];
  status: CustomerView['status'];
  preferredLanguage: string;
  billingAccounts: { id: string; type: 'prepaid' | 'postpaid'; currency: string; status: 'active' | 'closed' }[];
}

/** Something a CSR must notice at once ("vip", "fraud_alert"): a stable code, and a short why. */
export interface ViewFlag { code: string; detail?: string }

/**
 * A module's part of the view: one SQL expression over the module's own tables that yields its raw
 * data (a JSON value: the recent few, not everything), and how that becomes the slot's value. The
 * service module puts every part's expression into one statement, `select (part1) as p0, (part2)
 * as p1 ...`, run on the pool for a customer the root found visible to the caller: one round trip
 * and one snapshot for all of them, whatever their number, and no module reads another's tables.
 * If that statement fails, each part runs on its own, and one that fails again fills its slot with
 * `{ "error": code }`; the view still answers.
 */
export interface CustomerViewPart<T = unknown> {
  /** Its slot in the view: the owning module's name ("billing", "orders" ...). */
  readonly name: string;
  /** What the slot holds: the route's response schema, and so the OpenAPI document, is made of these. */
  readonly schema: z.ZodType<T>;
  /** The expression (a scalar subquery is wrapped in parentheses by the caller); null when there is nothing to read. */
  query(customer: ViewSubject, ctx: Ctx): SQL | null;
  /** The slot's value from what the expression returned (null for a part that had nothing to read). */
  read(raw: unknown, customer: ViewSubject): T;
  /** The flags the part raises from what it read. */
  flags?(data: T): ViewFlag[];
}

/** A time as a part's expression returns it (JSON text), or null. */
export const dateOrNull = (s: string | null) => (s === null ? null : new Date(s));

/** Declares a part with its data type inferred from its schema. */
export const viewPart = <T>(part: CustomerViewPart<T>): CustomerViewPart => part as CustomerViewPart;

/** The root of the view: the customer record, without which there is nothing to show. */
export interface CustomerViewRoot {
  readonly schema: typeof customerSchema;
  /** The record as GET /v1/customers/{id} has it (the read audited the same way), or 404 customer_not_found. */
  load(ctx: Ctx, id: string): Promise<{ customer: CustomerView; subject: ViewSubject }>;
  flags(customer: CustomerView): ViewFlag[];
}

export function customerViewRoot(deps: CustomerDeps): CustomerViewRoot {
  return {
    schema: customerSchema,
    async load(ctx, id) {
      const customer = await getCustomer(deps, ctx, id);
      return {
        customer,
        subject: {
          id: customer.id, segment: customer.segment, status: customer.status, preferredLanguage: customer.preferredLanguage,
          billingAccounts: customer.billingAccounts.map((a) => ({ id: a.id, type: a.type, currency: a.currency, status: a.status })),
        },
      };
    },
    flags: (c) => (c.segment === 'vip' ? [{ code: 'vip', detail: 'VIP customer' }] : []),
  };
}
