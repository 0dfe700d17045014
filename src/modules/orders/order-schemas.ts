import { z } from 'zod';
import { money, timeWindow } from './catalog-schemas.js';

export type TimeWindow = z.infer<typeof timeWindow>;
type Money = z.infer<typeof money>;

/** What an accepted order takes: validated and priced at submission, fulfilled by the worker. */
export type OrderItem =
  | { kind: 'plan'; planId: string; planVersionId: string; version: number; fee: Money } & Discounted
  | { kind: 'add_on'; addOnId: string; addOnVersionId: string; version: number; fee: Money } & Discounted
  | { kind: 'line_add_on'; lineAddOnId: string }
  | { kind: 'msisdn'; msisdn: string }
  | { kind: 'sim'; iccid: string }
  | { kind: 'device'; sku: string; serial: string; price: Money };

/** A price that holds for `cycles` cycles (null: for good). */
export type FeeStep = { cycles: number | null; amount: number };
export type UsageType = 'data' | 'voice' | 'sms';
/** Per usage type: the share of a rated charge still charged (of 10,000) in the first cycle, and the steps after it. */
export type UsageShares = Partial<Record<UsageType, { share: number; later: FeeStep[] }>>;

/**
 * What discounts did to a fee: `fee` is what is charged, `listFee` the catalog's, `laterFees` the
 * fees of the cycles after the first while discounts last (then the list fee again), `usageShares`
 * what a plan's usage costs, and the pricing that explains it.
 */
type Discounted = { listFee?: Money; discountApplicationId?: string; laterFees?: FeeStep[]; usageShares?: UsageShares };

const id = z.uuid();
const promotionCodes = z.array(z.string().trim().min(1).max(40)).max(10).default([])
  .describe('Promotion codes the customer entered; each must lower the price of something in the order');
const reason = z.string().trim().min(1).max(500);
const lineOrder = { lineId: id };

/** One body per order type; the type decides what else is needed. */
export const submitOrderBody = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('new_line'),
    billingAccountId: id,
    planId: id,
    msisdn: z.string().regex(/^\+[1-9]\d{6,14}$/).optional().describe('A specific available number; otherwise one of `numberCategory`'),
    numberCategory: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/).default('standard'),
    iccid: z.string().regex(/^89\d{16,18}$/).optional().describe('A specific SIM (e.g. the card in the shop); otherwise any available one'),
    addOnIds: z.array(id).max(10).default([]),
    deviceSku: z.string().max(40).optional(),
    promotionCodes,
  }).strict(),
  z.object({ type: z.literal('change_plan'), ...lineOrder, planId: id, effective: z.enum(['now', 'next_cycle']).default('now'), promotionCodes }).strict(),
  z.object({ type: z.literal('add_add_on'), ...lineOrder, addOnId: id, promotionCodes }).strict(),
  z.object({ type: z.literal('remove_add_on'), ...lineOrder, lineAddOnId: id }).strict(),
  z.object({ type: z.literal('suspend'), ...lineOrder, reason }).strict(),
  z.object({ type: z.literal('resume'), ...lineOrder }).strict(),
  z.object({ type: z.literal('terminate'), ...lineOrder, reason }).strict(),
  z.object({ type: z.literal('replace_sim'), ...lineOrder, iccid: z.string().regex(/^89\d{16,18}$/).optional(), reason: reason.optional() }).strict(),
  z.object({ type: z.literal('buy_device'), billingAccountId: id, sku: z.string().max(40), lineId: id.optional() }).strict(),
]);
export type SubmitOrder = z.output<typeof submitOrderBody>;

const moneyOut = z.object({ amount: z.number().int(), currency: z.string() });
const feeSteps = z.array(z.object({ cycles: z.number().int().nullable().describe('null: for good'), amount: z.number().int() }));
const discounted = {
  fee: moneyOut, listFee: moneyOut.optional(), discountApplicationId: id.optional(),
  laterFees: feeSteps.optional().describe('The fees of the cycles after the first while discounts last, in order; then the list fee'),
};
const usageShares = z.partialRecord(z.enum(['data', 'voice', 'sms']), z.object({ share: z.number().int().describe('Of 10,000: the part of a rated charge still charged'), later: feeSteps }));
const orderItem = z.union([
  z.object({ kind: z.literal('plan'), planId: id, planVersionId: id, version: z.number().int(), ...discounted, usageShares: usageShares.optional().describe('Usage discounts the plan was sold with') }),
  z.object({ kind: z.literal('add_on'), addOnId: id, addOnVersionId: id, version: z.number().int(), ...discounted }),
  z.object({ kind: z.literal('line_add_on'), lineAddOnId: id }),
  z.object({ kind: z.literal('msisdn'), msisdn: z.string() }),
  z.object({ kind: z.literal('sim'), iccid: z.string() }),
  z.object({ kind: z.literal('device'), sku: z.string(), serial: z.string(), price: moneyOut }),
]);

export const orderView = z.object({
  id,
  type: z.string(),
  status: z.enum(['acknowledged', 'in_progress', 'completed', 'failed', 'cancelled']),
  customerId: id,
  billingAccountId: id,
  lineId: id.nullable(),
  items: z.array(orderItem),
  effective: z.enum(['now', 'next_cycle']),
  scheduledFor: z.date().nullable(),
  reason: z.string().nullable(),
  history: z.array(z.object({ status: z.string(), at: z.string(), reason: z.string().optional() })),
  createdAt: z.date(),
  completedAt: z.date().nullable(),
});

export const listOrdersQuery = z.object({
  customerId: id.optional(),
  lineId: id.optional(),
  status: z.enum(['acknowledged', 'in_progress', 'completed', 'failed', 'cancelled']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

const bucket = z.object({
  id, source: z.enum(['plan', 'add_on']), lineAddOnId: id.nullable(), usageType: z.enum(['data', 'voice', 'sms']), zone: z.string(),
  total: z.number().int().nullable().describe('null = unlimited'), used: z.number().int(), remaining: z.number().int().nullable(),
  timeWindow: z.object({ from: z.string(), to: z.string(), timeZone: z.string() }).nullable(), validFrom: z.date(), validUntil: z.date(),
});

export const lineView = z.object({
  id, customerId: id, billingAccountId: id, kind: z.enum(['prepaid', 'postpaid']), msisdn: z.string(), iccid: z.string(),
  status: z.enum(['active', 'suspended', 'barred', 'terminated']), statusReason: z.string().nullable(),
  restriction: z.enum(['balance', 'usage_cap', 'spend_cap', 'dunning']).nullable().describe('A usage limit that bars or slows the line'),
  throttleKbps: z.number().int().nullable(),
  plan: z.object({ id, code: z.string(), name: z.string(), versionId: id, version: z.number().int(), recurringFee: moneyOut }),
  cycle: z.object({ start: z.date(), end: z.date(), billCycleDay: z.number().int() }),
  addOns: z.array(z.object({
    id, addOnId: id, code: z.string(), name: z.string(), kind: z.enum(['one_off', 'recurring']), version: z.number().int(), startsAt: z.date(), expiresAt: z.date(),
  })),
  allowances: z.array(bucket),
  pendingOrders: z.array(z.object({ id, type: z.string(), status: z.string(), scheduledFor: z.date().nullable() })),
  activatedAt: z.date(), terminatedAt: z.date().nullable(),
});

export const chargeLineView = z.object({
  id, lineId: id.nullable(), billingAccountId: id, orderId: id.nullable(), kind: z.enum(['charge', 'credit', 'one_off', 'recurring']),
  ref: z.string(), description: z.string(), amount: z.number().int().describe('Minor units; negative for a credit'), currency: z.string(),
  periodFrom: z.date().nullable(), periodTo: z.date().nullable(), createdAt: z.date(), billedAt: z.date().nullable(),
});

export const listLinesQuery = z.object({
  customerId: id.optional(),
  msisdn: z.string().regex(/^\+[1-9]\d{6,14}$/).optional(),
  status: z.enum(['active', 'suspended', 'barred', 'terminated']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
