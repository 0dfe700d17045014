import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError, problem, problemSchema } from './errors.js';

/** The Postgres error behind a failed query (drizzle wraps it), if any. */
function postgresCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown; name?: string }; name?: string };
  if (e.name === 'PostgresError' && typeof e.code === 'string') return e.code;
  if (e.cause?.name === 'PostgresError' && typeof e.cause.code === 'string') return e.cause.code;
  return undefined;
}

const clientErrorCodes: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'malformed_body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'malformed_body'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'malformed_body'],
  FST_ERR_VALIDATION: [400, 'validation_failed'],
};

/** One error handler for the whole app: every refusal is RFC 9457 problem+json; 5xx hide details. */
export const httpPlugin = fp(async (app: FastifyInstance) => {
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-request-id', req.id);
    return payload;
  });

  // Every route with a body can also be refused for its size or its content type.
  app.addHook('onRoute', (route) => {
    if (route.schema?.body) route.schema.response = { ...(route.schema.response as object), 413: problemSchema, 415: problemSchema };
  });

  // PATCH bodies are JSON merge patches (RFC 7396); plain application/json is accepted as well.
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  app.setNotFoundHandler((req, reply) => {
    reply.status(404).type('application/problem+json').send(problem(404, 'route_not_found', `No route ${req.method} ${req.url.split('?')[0]}`));
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    reply.type('application/problem+json');
    if (err instanceof AppError) {
      return reply.status(err.status).send(problem(err.status, err.code, err.message, err.extra));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const errors = err.validation.map((v) => ({
        path: `${err.validationContext ?? ''}${v.instancePath}`.replace(/\//g, '.'),
        message: v.message ?? 'invalid',
      }));
      return reply.status(400).send(problem(400, 'validation_failed', 'The request is not valid', { errors }));
    }
    const known = err.code ? clientErrorCodes[err.code] : undefined;
    if (known) return reply.status(known[0]).send(problem(known[0], known[1], err.message));
    if (err.statusCode === 429) return reply.status(429).send(problem(429, 'rate_limited', err.message));
    // Safety nets for what validation let through: the transaction has rolled back, nothing is lost.
    const pg = postgresCode(err);
    if (pg?.startsWith('22')) {
      req.log.info({ err }, 'value refused by the database');
      return reply.status(400).send(problem(400, 'invalid_value', 'A value is out of range or holds characters that cannot be stored (such as NUL)'));
    }
    if (pg === '23505') {
      req.log.info({ err }, 'uniqueness conflict');
      return reply.status(409).send(problem(409, 'conflict', 'The change conflicts with an existing record'));
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500 && !isResponseSerializationError(err)) {
      return reply.status(err.statusCode).send(problem(err.statusCode, 'bad_request', err.message));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send(problem(500, 'internal_error', `Something went wrong; quote request id ${req.id}`));
  });
}, { name: 'platform-http' });
