import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { idempotencyHeaders } from '../../platform/http/idempotency.js';
import { decodeCursor, page, toPage } from '../../platform/http/pagination.js';
import * as devices from './devices.js';

const tags = ['orders'];
const skuParams = z.object({ sku: devices.sku });

export const deviceRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post('/v1/devices', {
    config: { auth: 'catalog:write' },
    schema: {
      operationId: 'createDevice', tags, summary: 'Put a device (router, handset ...) on sale; stock is added by importing units',
      body: devices.createDeviceBody, response: { 201: devices.device, ...problems(400, 409) },
    },
  }, async (req, reply) => {
    const created = await devices.createDevice(db, ctxOf(req), req.body);
    return reply.status(201).header('location', `/v1/devices/${created.sku}`).send(created);
  });

  app.get('/v1/devices', {
    config: { auth: 'catalog:read' },
    schema: {
      operationId: 'listDevices', tags, summary: 'Devices by SKU with their stock (partners and customers see active devices only)',
      querystring: devices.listDevicesQuery, response: { 200: page(devices.device), ...problems(400) },
    },
  }, async (req) => {
    const { cursor, ...q } = req.query;
    const [after] = decodeCursor(cursor, z.tuple([devices.sku])) ?? [];
    return toPage(await devices.listDevices(db, ctxOf(req), { ...q, after }), q.limit, (d) => [d.sku]);
  });

  app.get('/v1/devices/:sku', {
    config: { auth: 'catalog:read' },
    schema: { operationId: 'getDevice', tags, params: skuParams, response: { 200: devices.device, ...problems(400, 404) } },
  }, async (req) => devices.getDevice(db, ctxOf(req), req.params.sku));

  app.post('/v1/devices/:sku/retire', {
    config: { auth: 'catalog:write' },
    schema: { operationId: 'retireDevice', tags, summary: 'Stop selling a device; units already sold are unaffected', params: skuParams, response: { 200: devices.device, ...problems(400, 404) } },
  }, async (req) => devices.retireDevice(db, ctxOf(req), req.params.sku));

  app.post('/v1/devices/:sku/units/import', {
    config: { auth: 'inventory:write', idempotent: true },
    schema: {
      operationId: 'importDeviceUnits', tags, summary: 'Add units of a device by serial number, all or nothing (existing or repeated serials are reported)',
      params: skuParams, headers: idempotencyHeaders, body: devices.importUnitsBody,
      response: { 201: z.object({ imported: z.number().int() }), ...problems(400, 404, 409, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await devices.importUnits(db, ctxOf(req), req.params.sku, req.body.serials)));
};
