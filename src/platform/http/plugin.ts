import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { connectionLost, postgresCode } from '../db/client.js';
import { AppError, httpErrors, problemSchema, sendProblem } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * How sure we are that a failed request changed nothing, for the idempotency store:
     * 'rolled_back' when Postgres itself refused a statement (its transaction is gone), 'unknown'
     * when the connection broke (a COMMIT may have landed).
     */
    failure: 'rolled_back' | 'unknown' | null;
  }
}

// Values a client sent that Postgres refused: bad text, bad dates, too long. (Other class-22 errors,
// such as a division by zero, are our bugs and stay 500.)
const clientValueErrors = new Set(['22P02', '22P05', '22001', '22003', '22007', '22008', '22009', '22021']);

const frameworkErrors: Record<string, (detail: string) => AppError> = {
  FST_ERR_CTP_INVALID_JSON_BODY: httpErrors.malformed_body,
  FST_ERR_CTP_EMPTY_JSON_BODY: httpErrors.malformed_body,
  FST_ERR_CTP_BODY_TOO_LARGE: httpErrors.payload_too_large,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: httpErrors.unsupported_media_type,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: httpErrors.malformed_body,
  FST_ERR_VALIDATION: httpErrors.validation_failed,
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
    sendProblem(reply, httpErrors.route_not_found(`No route ${req.method} ${req.url.split('?')[0]}`));
  });

  // While closing, requests still arriving on kept-alive connections are turned away cleanly.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_req, reply) => {
    if (closing) return sendProblem(reply.header('connection', 'close'), httpErrors.shutting_down());
  });

  app.decorateRequest('failure', null);
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (postgresCode(err)) req.failure = 'rolled_back';
    else if (connectionLost(err)) req.failure = 'unknown';
    return sendProblem(reply, toAppError(err, req));
  });
}, { name: 'platform-http' });

function toAppError(err: FastifyError, req: { id: string; log: FastifyInstance['log'] }): AppError {
  if (err instanceof AppError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const errors = err.validation.map((v) => ({
      path: `${err.validationContext ?? ''}${v.instancePath}`.replace(/\//g, '.'),
      message: v.message ?? 'invalid',
    }));
    return httpErrors.validation_failed(undefined, { errors });
  }
  const known = err.code ? frameworkErrors[err.code] : undefined;
  if (known) return known(err.message);
  if (err.statusCode === 429) return httpErrors.rate_limited(err.message);
  // Safety nets for what validation let through: the transaction has rolled back, nothing is lost.
  const pg = postgresCode(err);
  if ((pg && clientValueErrors.has(pg)) || pg === '23505') {
    req.log.info({ err }, 'refused by the database');
    return pg === '23505' ? httpErrors.conflict() : httpErrors.invalid_value();
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500 && !isResponseSerializationError(err)) {
    return new AppError(err.statusCode, 'bad_request', err.message);
  }
  req.log.error({ err }, 'unhandled error');
  return httpErrors.internal_error(`Something went wrong; quote request id ${req.id}`);
}
