import { z } from 'zod';

/**
 * A refused request. `code` is a stable machine string from the owning module's errors.ts; it
 * becomes an RFC 9457 problem document with that code and the status it maps to.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Declares a module's closed set of error codes, each tied to one HTTP status. */
export function defineErrors<const T extends Record<string, { status: number; title: string }>>(defs: T) {
  return Object.fromEntries(
    Object.entries(defs).map(([code, d]) => [code, (detail?: string, extra?: Record<string, unknown>) => new AppError(d.status, code, detail ?? d.title, extra)]),
  ) as { [K in keyof T]: (detail?: string, extra?: Record<string, unknown>) => AppError };
}

/**
 * Platform-wide codes: any route may answer these. (`bad_request` alone keeps the status of the
 * framework error it stands for, e.g. 405 or 406.)
 */
export const httpErrors = defineErrors({
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_body: { status: 400, title: 'The request body is not valid JSON' },
  invalid_cursor: { status: 400, title: 'The cursor is not one this API issued' },
  invalid_value: { status: 400, title: 'A value is out of range or holds characters that cannot be stored (such as NUL)' },
  bad_request: { status: 400, title: 'The request cannot be served' },
  unauthenticated: { status: 401, title: 'Send "Authorization: Bearer <api key or access token>"' },
  invalid_credentials: { status: 401, title: 'The API key or token is unknown, revoked or expired' },
  forbidden: { status: 403, title: 'Not allowed' },
  route_not_found: { status: 404, title: 'No such route' },
  conflict: { status: 409, title: 'The change conflicts with an existing record' },
  idempotency_request_in_flight: { status: 409, title: 'A request with this Idempotency-Key is still in progress' },
  resource_erased: { status: 410, title: 'The resource this request created has since been erased' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  idempotency_key_reused: { status: 422, title: 'This Idempotency-Key was used with a different request' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Something went wrong' },
  shutting_down: { status: 503, title: 'This instance is shutting down; retry on another' },
  migrations_pending: { status: 503, title: 'Migrations are not all applied' },
  database_unavailable: { status: 503, title: 'The database does not answer' },
});

/** RFC 9457 problem details; a code may add extension members (e.g. `rows` of a refused import). */
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  code: z.string(),
  instance: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

export type Problem = z.infer<typeof problemSchema>;

const titles: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  409: 'Conflict', 410: 'Gone', 413: 'Content Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content',
  429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

/** The RFC 9457 document for a refusal. */
export function problem(err: AppError): Problem {
  return { type: `https://telco-crm.dev/problems/${err.code.replace(/_/g, '-')}`, title: titles[err.status] ?? 'Error', status: err.status, code: err.code, detail: err.message, ...err.extra };
}

/** For hooks that answer by themselves rather than throw. */
export function sendProblem(reply: { status(n: number): { type(t: string): { send(b: unknown): unknown } } }, err: AppError) {
  return reply.status(err.status).type('application/problem+json').send(problem(err));
}

/**
 * Documents the problem responses a route can give: `response: { 200: x, ...problems(400, 404) }`.
 * The guard adds 401, 403 and 429 to every secured route by itself.
 */
export function problems<const S extends number[]>(...statuses: S) {
  return Object.fromEntries(statuses.map((s) => [s, problemSchema.describe(titles[s] ?? 'Error')])) as { [K in S[number]]: typeof problemSchema };
}
