import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import { problems } from '../../platform/http/errors.js';
import { idempotencyHeaders } from '../../platform/http/idempotency.js';
import { decodeCursor, page, toPage } from '../../platform/http/pagination.js';
import { eraseCustomer, exportCustomer } from './gdpr.js';
import * as s from './schemas.js';
import { searchCustomers } from './search.js';
import { type CustomerDeps, createCustomer, getCustomer, listCustomers, updateCustomer } from './service.js';

const tags = ['customers'];
const idParams = z.object({ id: z.uuid() });

export const customerRoutes: FastifyPluginAsyncZod<CustomerDeps> = async (app, deps) => {
  app.post('/v1/customers', {
    config: { auth: 'customers:write', idempotent: true },
    schema: {
      operationId: 'createCustomer', tags, summary: 'Create a customer with contact points, addresses, documents and consents',
      headers: idempotencyHeaders, body: s.createCustomerBody,
      response: { 201: s.customer, ...problems(400, 409, 422) },
    },
  }, async (req, reply) => {
    const created = await createCustomer(deps, ctxOf(req), req.body);
    return reply.status(201).header('location', `/v1/customers/${created.id}`).send(created);
  });

  app.get('/v1/customers', {
    config: { auth: 'customers:read' },
    schema: {
      operationId: 'listCustomers', tags, summary: 'List customers, newest first, with filters',
      querystring: s.listCustomersQuery, response: { 200: page(s.customerSummary), ...problems(400) },
    },
  }, async (req) => {
    const { cursor, ...filters } = req.query;
    const [after] = decodeCursor(cursor, z.tuple([z.uuid()])) ?? [];
    return toPage(await listCustomers(deps, ctxOf(req), { ...filters, after }), filters.limit, (c) => [c.id]);
  });

  app.get('/v1/customers/search', {
    config: { auth: 'customers:read' },
    schema: {
      operationId: 'searchCustomers', tags, summary: 'Find customers by exactly one of msisdn, email, name (substring) or documentNumber',
      querystring: s.searchCustomersQuery, response: { 200: z.object({ items: z.array(s.customerSummary) }), ...problems(400) },
    },
  }, async (req) => ({ items: await searchCustomers(deps, ctxOf(req), req.query) }));

  app.get('/v1/customers/:id', {
    config: { auth: 'customers:read' },
    schema: { operationId: 'getCustomer', tags, summary: 'A customer with all its parts', params: idParams, response: { 200: s.customer, ...problems(400, 404) } },
  }, async (req) => getCustomer(deps, ctxOf(req), req.params.id));

  app.patch('/v1/customers/:id', {
    config: { auth: 'customers:write' },
    schema: {
      operationId: 'updateCustomer', tags, summary: 'JSON merge patch of the customer\'s own fields (null removes an optional value)',
      params: idParams, body: s.updateCustomerBody, response: { 200: s.customer, ...problems(400, 404, 409, 422) },
    },
  }, async (req) => updateCustomer(deps, ctxOf(req), req.params.id, req.body));

  app.get('/v1/customers/:id/export', {
    config: { auth: 'customers:export' },
    schema: {
      operationId: 'exportCustomer', tags, summary: 'GDPR export: everything held about the customer, decrypted',
      params: idParams,
      response: { 200: z.object({ exportedAt: z.date(), customer: z.record(z.string(), z.unknown()) }), ...problems(400, 404) },
    },
  }, async (req) => exportCustomer(deps, ctxOf(req), req.params.id));

  app.post('/v1/customers/:id/erase', {
    config: { auth: 'customers:erase' },
    schema: {
      operationId: 'eraseCustomer', tags, summary: 'GDPR erasure: pseudonymise personal data, keep financial records',
      params: idParams,
      response: { 200: z.object({ id: z.uuid(), status: z.literal('erased'), erasedAt: z.date() }), ...problems(400, 404) },
    },
  }, async (req) => eraseCustomer(deps, ctxOf(req), req.params.id));
};
