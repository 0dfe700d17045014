import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { decodeCursor, page, toPage } from '../../platform/http/pagination.js';
import * as catalog from './catalog.js';
import * as s from './catalog-schemas.js';

const tags = ['orders'];
const idParams = z.object({ id: z.uuid() });

export const catalogRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post('/v1/price-plans', {
    config: { auth: 'catalog:write' },
    schema: {
      operationId: 'createPricePlan', tags, summary: 'Define a price plan (as a draft) with its first version of terms',
      body: s.createPricePlanBody, response: { 201: s.pricePlan, ...problems(400, 409) },
    },
  }, async (req, reply) => {
    const plan = await catalog.createPricePlan(db, ctxOf(req), req.body);
    return reply.status(201).header('location', `/v1/price-plans/${plan.id}`).send(plan);
  });

  app.get('/v1/price-plans', {
    config: { auth: 'catalog:read' },
    schema: {
      operationId: 'listPricePlans', tags, summary: 'Price plans, newest first (partners and customers see active plans only)',
      querystring: s.listPlansQuery, response: { 200: page(s.pricePlan), ...problems(400) },
    },
  }, async (req) => {
    const { cursor, ...q } = req.query;
    const [after] = decodeCursor(cursor, z.tuple([z.uuid()])) ?? [];
    return toPage(await catalog.listPricePlans(db, ctxOf(req), { ...q, after }), q.limit, (p) => [p.id]);
  });

  app.get('/v1/price-plans/:id', {
    config: { auth: 'catalog:read' },
    schema: { operationId: 'getPricePlan', tags, params: idParams, response: { 200: s.pricePlan, ...problems(400, 404) } },
  }, async (req) => catalog.getPricePlan(db, ctxOf(req), req.params.id));

  app.patch('/v1/price-plans/:id', {
    config: { auth: 'catalog:write' },
    schema: {
      operationId: 'updateDraftPricePlan', tags, summary: 'Edit a draft plan in place, or rename any plan (a published plan\'s price and terms change by new versions)',
      params: idParams, body: s.updateDraftBody, response: { 200: s.pricePlan, ...problems(400, 404, 409) },
    },
  }, async (req) => catalog.updateDraft(db, ctxOf(req), req.params.id, req.body));

  app.post('/v1/price-plans/:id/publish', {
    config: { auth: 'catalog:write' },
    schema: { operationId: 'publishPricePlan', tags, summary: 'Put a draft plan on sale', params: idParams, response: { 200: s.pricePlan, ...problems(400, 404, 409) } },
  }, async (req) => catalog.publishPlan(db, ctxOf(req), req.params.id));

  app.post('/v1/price-plans/:id/versions', {
    config: { auth: 'catalog:write' },
    schema: {
      operationId: 'publishPricePlanVersion', tags, summary: 'New price or terms for an active plan: new sales get the new version, existing lines keep theirs',
      params: idParams, body: s.newVersionBody, response: { 201: s.pricePlan, ...problems(400, 404, 409, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await catalog.publishNewVersion(db, ctxOf(req), req.params.id, req.body)));

  app.post('/v1/price-plans/:id/retire', {
    config: { auth: 'catalog:write' },
    schema: { operationId: 'retirePricePlan', tags, summary: 'Stop selling a plan; lines on it keep their version', params: idParams, response: { 200: s.pricePlan, ...problems(400, 404, 409) } },
  }, async (req) => catalog.retirePlan(db, ctxOf(req), req.params.id));
};
