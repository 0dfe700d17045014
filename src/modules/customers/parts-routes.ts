import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import { problems } from '../../platform/http/errors.js';
import { idempotencyHeaders } from '../../platform/http/idempotency.js';
import * as parts from './parts.js';
import * as s from './schemas.js';
import type { CustomerDeps } from './service.js';

const tags = ['customers'];
const customerParams = z.object({ id: z.uuid() });
const contactPointParams = customerParams.extend({ contactPointId: z.uuid() });
const addressParams = customerParams.extend({ addressId: z.uuid() });
const documentParams = customerParams.extend({ documentId: z.uuid() });
const accountParams = customerParams.extend({ accountId: z.uuid() });
const removed = z.object({ id: z.uuid() });

export const customerPartRoutes: FastifyPluginAsyncZod<CustomerDeps> = async (app, deps) => {
  app.post('/v1/customers/:id/contact-points', {
    config: { auth: 'customers:write' },
    schema: { operationId: 'addContactPoint', tags, params: customerParams, body: s.contactPointInput, response: { 201: s.contactPoint, ...problems(400, 404, 409) } },
  }, async (req, reply) => reply.status(201).send(await parts.addContactPoint(deps, ctxOf(req), req.params.id, req.body)));

  app.delete('/v1/customers/:id/contact-points/:contactPointId', {
    config: { auth: 'customers:write' },
    schema: { operationId: 'removeContactPoint', tags, params: contactPointParams, response: { 200: removed, ...problems(400, 404, 409) } },
  }, async (req) => parts.removeContactPoint(deps, ctxOf(req), req.params.id, req.params.contactPointId));

  app.post('/v1/customers/:id/addresses', {
    config: { auth: 'customers:write' },
    schema: { operationId: 'addAddress', tags, params: customerParams, body: s.addressInput, response: { 201: s.address, ...problems(400, 404, 409) } },
  }, async (req, reply) => reply.status(201).send(await parts.addAddress(deps, ctxOf(req), req.params.id, req.body)));

  app.delete('/v1/customers/:id/addresses/:addressId', {
    config: { auth: 'customers:write' },
    schema: { operationId: 'removeAddress', tags, params: addressParams, response: { 200: removed, ...problems(400, 404, 409) } },
  }, async (req) => parts.removeAddress(deps, ctxOf(req), req.params.id, req.params.addressId));

  app.post('/v1/customers/:id/identity-documents', {
    config: { auth: 'customers:write' },
    schema: {
      operationId: 'addIdentityDocument', tags, summary: 'Record an identity document; the number is encrypted at rest and shown masked',
      params: customerParams, body: s.identityDocumentInput, response: { 201: s.identityDocument, ...problems(400, 404, 409) },
    },
  }, async (req, reply) => reply.status(201).send(await parts.addIdentityDocument(deps, ctxOf(req), req.params.id, req.body)));

  app.delete('/v1/customers/:id/identity-documents/:documentId', {
    config: { auth: 'customers:write' },
    schema: { operationId: 'removeIdentityDocument', tags, params: documentParams, response: { 200: removed, ...problems(400, 404, 409) } },
  }, async (req) => parts.removeIdentityDocument(deps, ctxOf(req), req.params.id, req.params.documentId));

  app.put('/v1/customers/:id/consents/:channel', {
    config: { auth: 'customers:consent' },
    schema: {
      operationId: 'setConsent', tags, summary: 'Grant or withdraw marketing consent for one channel (sms, email, push; never voice)',
      params: customerParams.extend({ channel: s.consentChannelParam }), body: s.consentInput,
      response: { 200: s.consent, ...problems(400, 404, 409, 422) },
    },
  }, async (req) => parts.setConsent(deps, ctxOf(req), req.params.id, req.params.channel, req.body));

  app.post('/v1/customers/:id/billing-accounts', {
    config: { auth: 'customers:write', idempotent: true },
    schema: {
      operationId: 'createBillingAccount', tags, summary: 'Open a prepaid or postpaid billing account for the customer',
      params: customerParams, headers: idempotencyHeaders, body: s.billingAccountInput, response: { 201: s.billingAccount, ...problems(400, 404, 409, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await parts.createBillingAccount(deps, ctxOf(req), req.params.id, req.body)));

  app.patch('/v1/customers/:id/billing-accounts/:accountId', {
    config: { auth: 'customers:write' },
    schema: {
      operationId: 'updateBillingAccount', tags, params: accountParams, body: s.updateBillingAccountBody,
      response: { 200: s.billingAccount, ...problems(400, 404, 409, 422) },
    },
  }, async (req) => parts.updateBillingAccount(deps, ctxOf(req), req.params.id, req.params.accountId, req.body));
};
