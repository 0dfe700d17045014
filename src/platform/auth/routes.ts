import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/client.js';
import { problems } from '../http/errors.js';
import { decodeCursor, page, pageQuery, toPage } from '../http/pagination.js';
import type { Credentials } from './credentials.js';
import { ctxOf } from './guard.js';
import { permissions, staffRoles } from './permissions.js';
import * as auth from './service.js';
import { isoInstant } from '../http/instant.js';

const tags = ['identity'];
const idParams = z.object({ id: z.uuid() });
const email = z.email().max(254);
const password = z.string().min(12, 'at least 12 characters').max(200);

const staffUser = z.object({
  id: z.uuid(), email: z.string(), displayName: z.string(), role: z.enum(staffRoles),
  status: z.enum(['active', 'disabled']), createdAt: z.date(), updatedAt: z.date(),
});
const apiKey = z.object({
  id: z.uuid(), name: z.string(), prefix: z.string(), principalKind: z.enum(['staff', 'partner', 'customer', 'integration']),
  role: z.enum(staffRoles).nullable(), staffUserId: z.uuid().nullable(), partnerId: z.uuid().nullable(), customerId: z.uuid().nullable(),
  capabilities: z.array(z.string()), createdBy: z.string().nullable(), createdAt: z.date(), expiresAt: z.date().nullable(),
  lastUsedAt: z.date().nullable(), revokedAt: z.date().nullable(),
});
const cursorShape = z.tuple([z.uuid()]);

export const identityRoutes: FastifyPluginAsyncZod<{ db: Db; credentials: Credentials; partyExists?: auth.PartyExists }> = async (app, { db, credentials, partyExists }) => {
  app.post('/v1/auth/login', {
    config: { auth: 'public', rateLimit: { max: 20, timeWindow: '1 minute' } },
    schema: {
      operationId: 'login', tags, summary: 'Exchange a staff email and password for a short-lived access token',
      body: z.object({ email, password: z.string().min(1).max(200) }),
      response: { 200: z.object({ accessToken: z.string(), tokenType: z.literal('Bearer'), expiresIn: z.number().int() }), ...problems(400, 401, 429) },
    },
  }, async (req) => auth.login(db, credentials, req.body.email, req.body.password));

  app.post('/v1/staff-users', {
    config: { auth: 'staff:manage' },
    schema: {
      operationId: 'createStaffUser', tags, summary: 'Create a staff user (CSR, supervisor, marketing, admin)',
      body: z.object({ email, displayName: z.string().min(1).max(200), role: z.enum(staffRoles), password }),
      response: { 201: staffUser, ...problems(400, 409) },
    },
  }, async (req, reply) => reply.status(201).send(await auth.createStaffUser(db, ctxOf(req), req.body)));

  app.get('/v1/staff-users', {
    config: { auth: 'staff:manage' },
    schema: { operationId: 'listStaffUsers', tags, querystring: pageQuery, response: { 200: page(staffUser), ...problems(400) } },
  }, async (req) => {
    const [after] = decodeCursor(req.query.cursor, cursorShape) ?? [];
    return toPage(await auth.listStaffUsers(db, { limit: req.query.limit, after }), req.query.limit, (u) => [u.id]);
  });

  app.get('/v1/staff-users/:id', {
    config: { auth: 'staff:manage' },
    schema: { operationId: 'getStaffUser', tags, params: idParams, response: { 200: staffUser, ...problems(400, 404) } },
  }, async (req) => auth.getStaffUser(db, req.params.id));

  app.patch('/v1/staff-users/:id', {
    config: { auth: 'staff:manage' },
    schema: {
      operationId: 'updateStaffUser', tags, summary: 'Change role, status (disable) or password', params: idParams,
      body: z.object({ displayName: z.string().min(1).max(200), role: z.enum(staffRoles), status: z.enum(['active', 'disabled']), password }).partial().strict(),
      response: { 200: staffUser, ...problems(400, 404) },
    },
  }, async (req) => auth.updateStaffUser(db, credentials, ctxOf(req), req.params.id, req.body));

  app.post('/v1/api-keys', {
    config: { auth: 'api_keys:manage' },
    schema: {
      operationId: 'createApiKey', tags, summary: 'Create an API key; its secret is in this response only',
      body: z.object({
        name: z.string().min(1).max(200),
        principalKind: z.enum(['staff', 'partner', 'customer', 'integration']),
        role: z.enum(staffRoles).optional(),
        staffUserId: z.uuid().optional(),
        partnerId: z.uuid().optional(),
        customerId: z.uuid().optional(),
        capabilities: z.array(z.enum(permissions)).max(50).optional(),
        expiresAt: isoInstant.refine((v) => new Date(v) > new Date(), 'in the future: a key that has expired already could never be used').optional(),
      }).strict(),
      response: { 201: apiKey.extend({ secret: z.string() }), ...problems(400, 404, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await auth.createApiKey(db, credentials, ctxOf(req), req.body, partyExists)));

  app.get('/v1/api-keys', {
    config: { auth: 'api_keys:manage' },
    schema: { operationId: 'listApiKeys', tags, querystring: pageQuery, response: { 200: page(apiKey), ...problems(400) } },
  }, async (req) => {
    const [after] = decodeCursor(req.query.cursor, cursorShape) ?? [];
    return toPage(await auth.listApiKeys(db, { limit: req.query.limit, after }), req.query.limit, (k) => [k.id]);
  });

  app.delete('/v1/api-keys/:id', {
    config: { auth: 'api_keys:manage' },
    schema: { operationId: 'revokeApiKey', tags, summary: 'Revoke an API key (effective on every instance within AUTH_CACHE_SECONDS)', params: idParams, response: { 200: apiKey, ...problems(400, 404) } },
  }, async (req) => auth.revokeApiKey(db, credentials, ctxOf(req), req.params.id));

};
