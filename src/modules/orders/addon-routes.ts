import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { decodeCursor, page, toPage } from '../../platform/http/pagination.js';
import * as addOns from './addons.js';

const tags = ['orders'];
const idParams = z.object({ id: z.uuid() });

export const addOnRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post('/v1/add-ons', {
    config: { auth: 'catalog:write' },
    schema: {
      operationId: 'createAddOn', tags, summary: 'Define an add-on pack (as a draft) with its first version of terms',
      body: addOns.createAddOnBody, response: { 201: addOns.addOn, ...problems(400, 409) },
    },
  }, async (req, reply) => {
    const created = await addOns.createAddOn(db, ctxOf(req), req.body);
    return reply.status(201).header('location', `/v1/add-ons/${created.id}`).send(created);
  });

  app.get('/v1/add-ons', {
    config: { auth: 'catalog:read' },
    schema: {
      operationId: 'listAddOns', tags, summary: 'Add-ons, newest first (partners and customers see active add-ons only)',
      querystring: addOns.listAddOnsQuery, response: { 200: page(addOns.addOn), ...problems(400) },
    },
  }, async (req) => {
    const { cursor, ...q } = req.query;
    const [after] = decodeCursor(cursor, z.tuple([z.uuid()])) ?? [];
    return toPage(await addOns.listAddOns(db, ctxOf(req), { ...q, after }), q.limit, (a) => [a.id]);
  });

  app.get('/v1/add-ons/:id', {
    config: { auth: 'catalog:read' },
    schema: { operationId: 'getAddOn', tags, params: idParams, response: { 200: addOns.addOn, ...problems(400, 404) } },
  }, async (req) => addOns.getAddOn(db, ctxOf(req), req.params.id));

  app.patch('/v1/add-ons/:id', {
    config: { auth: 'catalog:write' },
    schema: {
      operationId: 'updateDraftAddOn', tags, summary: 'Edit a draft add-on in place, or rename any add-on (a published one\'s price and terms change by new versions)',
      params: idParams, body: addOns.updateAddOnBody, response: { 200: addOns.addOn, ...problems(400, 404, 409) },
    },
  }, async (req) => addOns.updateDraftAddOn(db, ctxOf(req), req.params.id, req.body));

  app.post('/v1/add-ons/:id/publish', {
    config: { auth: 'catalog:write' },
    schema: { operationId: 'publishAddOn', tags, summary: 'Put a draft add-on on sale', params: idParams, response: { 200: addOns.addOn, ...problems(400, 404, 409) } },
  }, async (req) => addOns.publishAddOn(db, ctxOf(req), req.params.id));

  app.post('/v1/add-ons/:id/versions', {
    config: { auth: 'catalog:write' },
    schema: {
      operationId: 'publishAddOnVersion', tags, summary: 'New price or terms for an active add-on: new purchases get the new version, packs already bought keep theirs',
      params: idParams, body: addOns.newAddOnVersionBody, response: { 201: addOns.addOn, ...problems(400, 404, 409, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await addOns.publishNewAddOnVersion(db, ctxOf(req), req.params.id, req.body)));

  app.post('/v1/add-ons/:id/retire', {
    config: { auth: 'catalog:write' },
    schema: { operationId: 'retireAddOn', tags, summary: 'Stop selling an add-on; packs already bought keep their version', params: idParams, response: { 200: addOns.addOn, ...problems(400, 404, 409) } },
  }, async (req) => addOns.retireAddOn(db, ctxOf(req), req.params.id));
};
