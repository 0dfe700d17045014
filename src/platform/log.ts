import pino from 'pino';

// Secrets, tokens and personal identifiers never reach the log.
export const redactPaths = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["idempotency-key"]',
  '*.password', '*.secret', '*.accessToken', '*.token', '*.number', '*.dateOfBirth', '*.documentNumber',
];

/**
 * Database errors carry the failed statement's parameters in their message (drizzle) or fields
 * (postgres.js): secrets and personal data. Log what failed and why, never with what values.
 */
type SerializedError = { [key: string]: unknown; type: string; message: string; stack: string };

// Postgres quotes offending values in its messages ("invalid input syntax ...: \"x\"", "Key (email)=(...)").
const scrub = (text = '') => text.replace(/"[^"\n]*"/g, '"…"').replace(/\)=\([^\n]*\)/g, ')=(…)');

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err), stack: '' };
  const e = err as Error & { query?: string; params?: unknown; cause?: unknown; code?: string };
  const db = (e.query !== undefined || e.params !== undefined) && e.cause instanceof Error ? (e.cause as Error & { code?: string }) : e;
  if (db.name === 'PostgresError' || db !== e) {
    const pg = db as Error & { code?: string; constraint_name?: string; table_name?: string; routine?: string };
    return {
      type: pg.name, message: scrub(pg.message), code: pg.code, constraint: pg.constraint_name, table: pg.table_name,
      routine: pg.routine, query: e.query ?? (pg as { query?: string }).query, stack: scrub(pg.stack),
    };
  }
  return pino.stdSerializers.err(e) as SerializedError;
}

/** Requests are logged by path only: query strings carry search keys (MSISDN, document numbers). */
function serializeRequest(req: { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } }) {
  return { method: req.method, path: req.url?.split('?')[0], remoteAddress: req.ip ?? req.socket?.remoteAddress };
}

export const logOptions = (level: string) => ({
  level,
  redact: { paths: redactPaths, censor: '[redacted]' },
  serializers: { err: serializeError, req: serializeRequest },
});
