import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { decodeCursor, page, pageQuery, toPage } from '../../platform/http/pagination.js';
import { createPromotion, listPromotions, retirePromotion } from './promotions.js';
import { currencyCode } from '../../platform/http/money.js';
import { instant } from '../../platform/http/instant.js';

const tags = ['discounts'];
const promotionView = z.object({
  id: z.uuid(), name: z.string(), minAmount: z.number().int(), currency: z.string(), firstOnly: z.boolean(), rewardAddOnId: z.uuid().nullable(),
  rewardCredit: z.number().int().nullable(), validFrom: z.date().nullable(), validUntil: z.date().nullable(), maxRewards: z.number().int().nullable(),
  rewards: z.number().int(), status: z.enum(['active', 'retired']), createdBy: z.string(), createdAt: z.date(),
});

export const promotionRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post('/v1/top-up-promotions', {
    config: { auth: 'discounts:manage' },
    schema: {
      operationId: 'createTopUpPromotion', tags,
      summary: 'An automatic promotion on top-ups: a recharge or voucher of at least minAmount earns a pack (on the account\'s longest-standing active line) or bonus credit; firstOnly: once per account',
      body: z.object({
        name: z.string().trim().min(1).max(200), minAmount: z.number().int().min(1).max(100_000_000), currency: currencyCode,
        firstOnly: z.boolean().default(false), rewardAddOnId: z.uuid().nullable().default(null), rewardCredit: z.number().int().min(1).max(100_000_000).nullable().default(null),
        validFrom: instant.nullable().default(null), validUntil: instant.nullable().default(null), maxRewards: z.number().int().min(1).max(2_000_000_000).nullable().default(null),
      }).strict()
        .refine((b) => (b.rewardAddOnId === null) !== (b.rewardCredit === null), { message: 'name exactly one reward: rewardAddOnId or rewardCredit', path: ['rewardAddOnId'] })
        .refine((b) => !b.validFrom || !b.validUntil || b.validUntil > b.validFrom, { message: 'validUntil must be after validFrom', path: ['validUntil'] }),
      response: { 201: promotionView, ...problems(400, 404, 409) },
    },
  }, async (req, reply) => reply.status(201).send(await createPromotion(db, ctxOf(req), req.body)));

  app.get('/v1/top-up-promotions', {
    config: { auth: 'discounts:read' },
    schema: { operationId: 'listTopUpPromotions', tags, summary: 'Top-up promotions, newest first, with how many rewards each gave', querystring: pageQuery, response: { 200: page(promotionView), ...problems(400) } },
  }, async (req) => {
    const [before] = decodeCursor(req.query.cursor, z.tuple([z.uuid()])) ?? [];
    return toPage(await listPromotions(db, { limit: req.query.limit, before }), req.query.limit, (p) => [p.id]);
  });

  app.post('/v1/top-up-promotions/:id/retire', {
    config: { auth: 'discounts:manage' },
    schema: { operationId: 'retireTopUpPromotion', tags, summary: 'Stop a top-up promotion', params: z.object({ id: z.uuid() }), response: { 200: promotionView, ...problems(400, 404) } },
  }, async (req) => retirePromotion(db, ctxOf(req), req.params.id));
};
