import { z } from 'zod';
import { currencyCode } from '../../platform/http/money.js';

export const money = z.object({
  amount: z.number().int().min(0).max(1_000_000_000).describe('Minor units'),
  currency: currencyCode,
});

const quantity = z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.literal('unlimited')]);

/** A charging tier: up to `upTo` units of usage (bytes, seconds, messages) at this price; null = the rest. */
const tier = z.object({
  upTo: z.number().int().min(1).nullable(),
  unitSize: z.number().int().min(1).describe('Base units per charged unit: 1048576 bytes = 1 MiB, 60 s = 1 minute, 1 SMS'),
  pricePerUnit: z.number().int().min(0).max(1_000_000).describe('Minor units per charged unit'),
}).strict();

const tiers = z.array(tier).min(1).max(10).refine((ts) => ts.every((t, i) => (i === ts.length - 1 ? t.upTo === null : t.upTo !== null && (i === 0 || t.upTo > ts[i - 1]!.upTo!))),
  'tiers ascend by upTo, and only the last is open-ended (upTo: null)');

export const planTerms = z.object({
  allowances: z.object({ dataBytes: quantity, voiceSeconds: quantity, smsCount: quantity }).strict()
    .describe('Included per cycle; "unlimited" allowed'),
  rates: z.object({ data: tiers.optional(), voice: tiers.optional(), sms: tiers.optional() }).strict()
    .describe('Charging tiers after the allowance'),
  usageCap: z.object({
    behaviour: z.enum(['block', 'throttle', 'charge_on']),
    throttleKbps: z.number().int().min(1).optional(),
  }).strict().refine((c) => (c.behaviour === 'throttle') === (c.throttleKbps !== undefined), 'throttleKbps goes with, and only with, "throttle"'),
}).strict();
export type PlanTerms = z.infer<typeof planTerms>;

export const createPricePlanBody = z.object({
  code: z.string().regex(/^[A-Z0-9][A-Z0-9_-]{1,39}$/, 'upper-case letters, digits, "-" and "_"'),
  name: z.string().trim().min(1).max(200),
  kind: z.enum(['prepaid', 'postpaid']),
  recurringFee: money,
  terms: planTerms,
}).strict();

export const newVersionBody = z.object({ recurringFee: money, terms: planTerms }).strict();
export const updateDraftBody = z.object({ name: z.string().trim().min(1).max(200), recurringFee: money, terms: planTerms }).partial().strict();

export const planVersion = z.object({
  id: z.uuid(), version: z.number().int(), recurringFee: money, terms: planTerms, createdAt: z.date(), publishedAt: z.date().nullable(),
});
export const pricePlan = z.object({
  id: z.uuid(), code: z.string(), name: z.string(), kind: z.enum(['prepaid', 'postpaid']),
  status: z.enum(['draft', 'active', 'retired']), currentVersion: planVersion, versions: z.array(planVersion),
  createdAt: z.date(), updatedAt: z.date(),
});
export type PricePlanView = z.infer<typeof pricePlan>;

export const listPlansQuery = z.object({
  status: z.enum(['draft', 'active', 'retired']).optional(),
  kind: z.enum(['prepaid', 'postpaid']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, '"HH:MM"');
/** A daily window in which a pack's allowance applies (e.g. night data 00:00–06:00), in a time zone. */
export const timeWindow = z.object({
  from: hhmm, to: hhmm, timeZone: z.string().min(1).max(64).default('UTC').describe('IANA time zone, e.g. "Europe/Berlin"'),
}).strict().refine((w) => w.from !== w.to, 'an empty window')
  .refine((w) => { try { new Intl.DateTimeFormat('en', { timeZone: w.timeZone }); return true; } catch { return false; } }, { message: 'unknown time zone', path: ['timeZone'] });

export const planCode = createPricePlanBody.shape.code;

export const addOnTerms = z.object({
  allowances: z.object({ dataBytes: quantity, voiceSeconds: quantity, smsCount: quantity }).partial().strict()
    .refine((a) => Object.keys(a).length > 0, 'at least one allowance'),
  zone: z.string().regex(/^(home|roaming-[a-z0-9-]{1,32})$/, '"home" or "roaming-<zone>", e.g. "roaming-eu"').default('home'),
  validityHours: z.number().int().min(1).max(8784).optional().describe('One-off packs: how long the pack lasts from purchase. Recurring packs last the cycle.'),
  timeWindow: timeWindow.optional(),
  compatiblePlans: z.array(planCode).max(200).default([]).describe('Codes of the plans that may take this pack; empty = every plan'),
  exclusiveGroup: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/).nullable().default(null)
    .describe('A line holds at most one active pack of a group'),
}).strict();
export type AddOnTerms = z.infer<typeof addOnTerms>;
