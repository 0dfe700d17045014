import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { idempotencyHeaders } from '../../platform/http/idempotency.js';
import { decodeCursor, page, toPage } from '../../platform/http/pagination.js';
import { lineView, listCharges, listLines } from './lines.js';
import * as s from './order-schemas.js';
import { cancelOrder, getOrder, listOrders, submitOrder } from './orders.js';
import type { OrderPricer } from './pricing.js';

const tags = ['orders'];
const idParams = z.object({ id: z.uuid() });
const afterOf = (cursor?: string) => (decodeCursor(cursor, z.tuple([z.uuid()])) ?? [])[0];

export const orderRoutes: FastifyPluginAsyncZod<{ db: Db; pricer?: OrderPricer }> = async (app, { db, pricer }) => {
  app.post('/v1/orders', {
    config: { auth: 'orders:write', idempotent: true },
    schema: {
      operationId: 'submitOrder', tags,
      summary: 'Place an order: validated and its stock reserved now, fulfilled by a worker (watch its status or the order.* events). '
        + 'Customers may place change_plan, add_add_on and remove_add_on only. Plan and pack fees go through the discounts: automatic ones, and those of '
        + 'the promotion codes entered (a code that lowers nothing is refused); a discounted item shows its listFee and the pricing that explains it.',
      headers: idempotencyHeaders, body: s.submitOrderBody, response: { 201: s.orderView, ...problems(400, 403, 404, 409, 422) },
    },
  }, async (req, reply) => {
    const order = await submitOrder(db, ctxOf(req), req.body, pricer);
    return reply.status(201).header('location', `/v1/orders/${order.id}`).send(order);
  });

  app.get('/v1/orders', {
    config: { auth: 'orders:read' },
    schema: {
      operationId: 'listOrders', tags, summary: 'Orders, newest first (partners name a customer of theirs; customers see their own)',
      querystring: s.listOrdersQuery, response: { 200: page(s.orderView), ...problems(400) },
    },
  }, async (req) => {
    const { cursor, ...q } = req.query;
    return toPage(await listOrders(db, ctxOf(req), { ...q, after: afterOf(cursor) }), q.limit, (o) => [o.id]);
  });

  app.get('/v1/orders/:id', {
    config: { auth: 'orders:read' },
    schema: { operationId: 'getOrder', tags, params: idParams, response: { 200: s.orderView, ...problems(400, 404) } },
  }, async (req) => getOrder(db, ctxOf(req), req.params.id));

  app.post('/v1/orders/:id/cancel', {
    config: { auth: 'orders:write' },
    schema: {
      operationId: 'cancelOrder', tags, summary: 'Cancel an order that has not started (a scheduled plan change, until its cycle ends); what it reserved is released',
      params: idParams, body: z.object({ reason: z.string().trim().min(1).max(500) }).strict(), response: { 200: s.orderView, ...problems(400, 404, 409) },
    },
  }, async (req) => cancelOrder(db, ctxOf(req), req.params.id, req.body.reason));

  app.get('/v1/lines', {
    config: { auth: 'orders:read' },
    schema: {
      operationId: 'listLines', tags, summary: 'Lines (subscriptions), newest first (partners name a customer of theirs; customers see their own)',
      querystring: s.listLinesQuery, response: { 200: page(s.lineView.pick({ id: true, customerId: true, billingAccountId: true, kind: true, msisdn: true, iccid: true, status: true, activatedAt: true, terminatedAt: true })), ...problems(400) },
    },
  }, async (req) => {
    const { cursor, ...q } = req.query;
    return toPage(await listLines(db, ctxOf(req), { ...q, after: afterOf(cursor) }), q.limit, (l) => [l.id]);
  });

  app.get('/v1/lines/:id', {
    config: { auth: 'orders:read' },
    schema: {
      operationId: 'getLine', tags, summary: 'A line with its plan version, active packs, the allowances of its current cycle and orders in flight',
      params: idParams, response: { 200: s.lineView, ...problems(400, 404) },
    },
  }, async (req) => lineView(db, ctxOf(req), req.params.id));

  app.get('/v1/lines/:id/charges', {
    config: { auth: 'orders:read' },
    schema: {
      operationId: 'listLineCharges', tags, summary: 'Charge lines the line\'s orders wrote for billing: prorated credits and charges, one-off and prepaid cycle fees',
      params: idParams, querystring: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(200).optional() }),
      response: { 200: page(s.chargeLineView), ...problems(400, 404) },
    },
  }, async (req) => toPage(await listCharges(db, ctxOf(req), req.params.id, { limit: req.query.limit, after: afterOf(req.query.cursor) }), req.query.limit, (c) => [c.id]));
};
