import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { httpErrors, problemSchema, sendProblem } from '../http/errors.js';
import type { Ctx } from '../context.js';
import type { Credentials } from './credentials.js';
import { can, type Permission, type Principal } from './permissions.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route: 'public', or the permission it needs. A route without it fails to register. */
    auth?: 'public' | Permission;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The acting principal and request id of an authenticated request, for service calls. */
export function ctxOf(req: FastifyRequest): Ctx {
  if (!req.principal) throw new Error('ctxOf called on an unauthenticated route');
  return { principal: req.principal, requestId: String(req.id) };
}

const undocumented = (url: string) => url.startsWith('/docs');

/**
 * Default deny: every route must declare `config.auth`; secured routes get their OpenAPI security
 * and 401/403/429 responses from here, and authentication runs before the body is even parsed.
 */
export const authGuard = fp(async (app: FastifyInstance, opts: { credentials: Credentials }) => {
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    if (undocumented(route.url)) {
      route.config = { ...route.config, auth: 'public' };
      return;
    }
    const auth = (route.config as { auth?: string } | undefined)?.auth;
    if (!auth) throw new Error(`Route ${route.method} ${route.url} declares no config.auth: every route must say who may call it`);
    if (auth === 'public' || !route.schema) return;
    route.schema.security = [{ bearerAuth: [] }];
    route.schema.response = {
      ...(route.schema.response as object),
      401: problemSchema.describe('Missing or invalid credentials'),
      403: problemSchema.describe('The caller lacks the permission'),
      429: problemSchema.describe('Rate limit exceeded'),
    };
  });

  app.addHook('onRequest', async (req, reply) => {
    const auth = req.routeOptions.config.auth;
    if (auth === 'public' || !req.routeOptions.url) return; // public, or no route (the 404 handler)
    if (!auth) return sendProblem(reply, httpErrors.forbidden('This route declares no access rule'));
    const header = req.headers.authorization;
    const match = header?.match(/^Bearer\s+(\S{1,4096})\s*$/i);
    if (!match) return sendProblem(reply.header('www-authenticate', 'Bearer'), httpErrors.unauthenticated());
    const principal = await opts.credentials.resolve(match[1]!);
    if (!principal) return sendProblem(reply.header('www-authenticate', 'Bearer error="invalid_token"'), httpErrors.invalid_credentials());
    if (!can(principal, auth)) return sendProblem(reply, httpErrors.forbidden(`This operation needs the "${auth}" permission`));
    req.principal = principal;
  });
}, { name: 'platform-auth' });
