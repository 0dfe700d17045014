import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { customerSegments } from '../customers/index.js';
import { idempotencyHeaders } from '../../platform/http/idempotency.js';
import { decodeCursor, page, pageQuery, toPage } from '../../platform/http/pagination.js';
import { actorSeenBy, type Ctx } from '../../platform/context.js';
import { channelOf } from '../orders/index.js';
import type { Channel } from './discount-rules.js';
import { applyDiscounts, createDiscount, getApplication, getDiscount, listDiscounts, quote, retireDiscount } from './discounts.js';
import { voucherErrors } from './errors.js';
import { currencyCode } from '../../platform/http/money.js';
import { instant } from '../../platform/http/instant.js';

const tags = ['discounts'];
const codes = z.array(z.string().trim().min(1).max(40)).max(10);
const channel = z.enum(['web', 'app', 'shop', 'partner', 'csr']);
const target = z.object({
  charge: z.enum(['recurring_fee', 'one_off', 'usage']),
  planCodes: z.array(z.string().min(1).max(50)).max(50).optional(), addOnCodes: z.array(z.string().min(1).max(50)).max(50).optional(),
  usageType: z.enum(['data', 'voice', 'sms']).optional(),
}).strict();
const eligibility = z.object({
  segments: z.array(z.enum(customerSegments)).max(3).optional(), newCustomersOnly: z.boolean().optional(), channels: z.array(channel).max(5).optional(),
}).strict();

const discountView = z.object({
  id: z.uuid(), name: z.string(), code: z.string().nullable(), kind: z.enum(['percentage', 'fixed']), value: z.number().int(), currency: z.string().nullable(),
  target, eligibility, validFrom: z.date().nullable(), validUntil: z.date().nullable(), cycles: z.number().int().nullable(),
  stacking: z.enum(['exclusive', 'stackable']), groupName: z.string().nullable(), priority: z.number().int(),
  maxRedemptions: z.number().int().nullable(), redemptions: z.number().int(), maxPerCustomer: z.number().int().nullable(), status: z.enum(['active', 'retired']),
  createdBy: z.string(), createdAt: z.date(),
});

const item = z.object({
  ref: z.string().min(1).max(100).describe('The caller\'s name for the item (an order item id)'),
  charge: z.enum(['recurring_fee', 'one_off', 'usage']), amount: z.number().int().min(0).max(100_000_000), currency: currencyCode,
  planCode: z.string().max(50).optional(), addOnCode: z.string().max(50).optional(), usageType: z.enum(['data', 'voice', 'sms']).optional(),
}).strict();
// An order is priced in one currency, and each item is named once (its decisions are kept by name).
const items = z.array(item).min(1).max(50).superRefine((list, ctx) => {
  const other = list.findIndex((i) => i.currency !== list[0]!.currency);
  if (other > 0) ctx.addIssue({ code: 'custom', message: `all items in one currency (the first is in ${list[0]!.currency})`, path: [other, 'currency'] });
  const seen = new Set<string>();
  list.forEach((i, n) => {
    if (seen.has(i.ref)) ctx.addIssue({ code: 'custom', message: `"${i.ref}" is named twice`, path: [n, 'ref'] });
    seen.add(i.ref);
  });
});
const priceRequest = { customerId: z.uuid(), channel: channel.describe('Staff only: anyone else\'s channel follows from who they are'), promotionCodes: codes.default([]), items };
const decision = z.object({ discountId: z.uuid(), name: z.string(), applied: z.boolean(), amount: z.number().int(), reason: z.string() });
// An order's pricing also holds its plan's usage rates, priced as 10,000 to find the share still charged.
const pricedItem = z.object({
  item: item.extend({ rate: z.boolean().optional().describe('A usage rate (of 10,000), not a charge: left out of the totals') }),
  final: z.number().int(), discount: z.number().int(), decisions: z.array(decision),
});
const quoteView = z.object({
  items: z.array(pricedItem), total: z.number().int(), discount: z.number().int(), used: z.array(z.uuid()),
  unknownCodes: z.array(z.string()).describe('Codes that name no current promotion'),
});
const applicationView = z.object({
  id: z.uuid(), customerId: z.uuid(), orderRef: z.string(), channel: z.string(), codes: z.array(z.string()), items: z.array(pricedItem),
  total: z.number().int(), discount: z.number().int(), discountIds: z.array(z.uuid()), createdBy: z.string().describe('Who priced it, "staff:<id>"; customers and partners read only the kind ("staff")'), createdAt: z.date(),
});

/** Staff say which channel an order came through; anyone else's channel is who they are (a customer cannot claim the shop's price). */
const channelFor = (ctx: Ctx, asked: Channel): Channel => (ctx.principal.kind === 'staff' ? asked : channelOf(ctx));

export const discountRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post('/v1/discounts', {
    config: { auth: 'discounts:manage' },
    schema: {
      operationId: 'createDiscount', tags,
      summary: 'Define a discount: percentage (basis points) or fixed amount, on a kind of charge (plans, packs, usage type), for whom, when, how long, how it combines, and its budget',
      body: z.object({
        name: z.string().trim().min(1).max(200),
        code: z.string().trim().min(3).max(40).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -').nullable().default(null).describe('A promotion code customers enter; null: applied automatically'),
        kind: z.enum(['percentage', 'fixed']), value: z.number().int().min(1).max(100_000_000).describe('Basis points (1000 = 10 %) or minor units'),
        currency: currencyCode.nullable().default(null), target, eligibility: eligibility.default({}),
        validFrom: instant.nullable().default(null), validUntil: instant.nullable().default(null),
        cycles: z.number().int().min(1).max(120).nullable().default(null)
          .describe('A recurring fee or usage discount lasts this many cycles from the order, its first included; null: as long as the line keeps the plan or pack. validFrom/validUntil bound when it can be taken'),
        stacking: z.enum(['exclusive', 'stackable']).default('stackable').describe('exclusive: applies alone'), groupName: z.string().min(1).max(50).nullable().default(null).describe('At most one discount of a group applies'),
        priority: z.number().int().min(-1000).max(1000).default(0).describe('Higher is considered first'),
        maxRedemptions: z.number().int().min(1).max(2_000_000_000).nullable().default(null), maxPerCustomer: z.number().int().min(1).max(1_000_000).nullable().default(null),
      }).strict()
        .refine((b) => (b.kind === 'percentage' ? b.value <= 10_000 && b.currency === null : b.currency !== null), { message: 'a percentage is at most 10000 basis points and has no currency; a fixed amount has one', path: ['value'] })
        .refine((b) => !b.validFrom || !b.validUntil || b.validUntil > b.validFrom, { message: 'validUntil must be after validFrom', path: ['validUntil'] })
        .refine((b) => b.target.charge !== 'usage' || b.kind === 'percentage', { message: 'a usage discount is a percentage: usage is rated record by record', path: ['kind'] })
        .refine((b) => b.target.charge !== 'one_off' || b.cycles === null, { message: 'a one-off charge has no cycles', path: ['cycles'] }),
      response: { 201: discountView, ...problems(400, 409) },
    },
  }, async (req, reply) => reply.status(201).send(await createDiscount(db, ctxOf(req), req.body)));

  app.get('/v1/discounts', {
    config: { auth: 'discounts:read' },
    schema: {
      operationId: 'listDiscounts', tags, summary: 'Discounts and promotions, newest first',
      querystring: pageQuery.extend({ status: z.enum(['active', 'retired']).optional() }), response: { 200: page(discountView), ...problems(400) },
    },
  }, async (req) => {
    const [before] = decodeCursor(req.query.cursor, z.tuple([z.uuid()])) ?? [];
    return toPage(await listDiscounts(db, { ...req.query, before }), req.query.limit, (d) => [d.id]);
  });

  app.get('/v1/discounts/:id', {
    config: { auth: 'discounts:read' },
    schema: { operationId: 'getDiscount', tags, summary: 'One discount, with how often it was taken', params: z.object({ id: z.uuid() }), response: { 200: discountView, ...problems(400, 404) } },
  }, async (req) => getDiscount(db, req.params.id));

  app.post('/v1/discounts/:id/retire', {
    config: { auth: 'discounts:manage' },
    schema: { operationId: 'retireDiscount', tags, summary: 'Stop a discount applying to new orders', params: z.object({ id: z.uuid() }), response: { 200: discountView, ...problems(400, 404) } },
  }, async (req) => retireDiscount(db, ctxOf(req), req.params.id));

  app.post('/v1/price-quotes', {
    config: { auth: 'discounts:quote' },
    schema: {
      operationId: 'quotePrices', tags,
      summary: 'What these items would cost a customer with these codes, and why: every discount considered, applied or not, with its reason. Changes nothing.',
      body: z.object(priceRequest).strict(), response: { 200: quoteView, ...problems(400, 404) },
    },
  }, async (req) => quote(db, ctxOf(req), { ...req.body, channel: channelFor(ctxOf(req), req.body.channel) }));

  app.post('/v1/discount-applications', {
    config: { auth: 'discounts:apply', idempotent: true },
    schema: {
      operationId: 'applyDiscounts', tags,
      summary: 'Price an order for good: the discounts\' budgets (total, per customer) are taken under lock, and the priced order is kept with its explanation; Idempotency-Key required',
      headers: idempotencyHeaders, body: z.object({ ...priceRequest, orderRef: z.string().trim().min(1).max(100) }).strict(),
      response: { 201: applicationView.extend({ unknownCodes: z.array(z.string()) }), ...problems(400, 404, 409) },
    },
  }, async (req, reply) => {
    if (!req.headers['idempotency-key']) throw voucherErrors.idempotency_key_required('Send an Idempotency-Key header: a retried order must never take a budget twice');
    return reply.status(201).send(await applyDiscounts(db, ctxOf(req), { ...req.body, channel: channelFor(ctxOf(req), req.body.channel) }));
  });

  app.get('/v1/discount-applications/:id', {
    config: { auth: 'discounts:quote' },
    schema: {
      operationId: 'getDiscountApplication', tags, summary: 'A priced order as it was priced: why the price was what it was',
      params: z.object({ id: z.uuid() }), response: { 200: applicationView, ...problems(400, 404) },
    },
  }, async (req) => {
    const application = await getApplication(db, ctxOf(req), req.params.id);
    return { ...application, createdBy: actorSeenBy(ctxOf(req), application.createdBy) };
  });
};
