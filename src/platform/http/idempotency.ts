import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { FieldCrypto } from '../crypto/fields.js';
import { type Db, postgresCode, postgresConstraint, type Tx } from '../db/client.js';
import { type Bound, prebuilt } from '../db/prebuilt.js';
import { type AppError, httpErrors, problem } from './errors.js';
import { idempotencyKeys } from './tables.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route honours Idempotency-Key (declare `headers: idempotencyHeaders` in its schema).
     * `in-transaction`: the route's work is one transaction, and the key's turn and answer go in
     * it (`keyInTransaction`), instead of a claim and an answer of their own before and after.
     */
    idempotent?: boolean | 'in-transaction';
  }
  interface FastifyRequest {
    idempotency: Claim | null;
  }
}

/** `settled`: nothing more is to be stored for the key (its answer went in the transaction, or there is none to keep). */
interface Claim { principal: string; key: string; hash: string; inTransaction: boolean; settled?: boolean }

export const idempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional()
    .describe('Retry-safe key: the same key and body replay the first response for 24 hours'),
});

const KEEP = sql`interval '24 hours'`;

/** Keyed: a body may hold a secret (a voucher PIN), and a plain hash of it kept for a day could be brute-forced. */
function requestHash(crypto: FieldCrypto, req: FastifyRequest) {
  return crypto.lookupHash(JSON.stringify([req.method, req.routeOptions.url, req.params, req.body ?? null]));
}

/**
 * Stores the first response per (principal, key) in Postgres so any instance can replay it.
 * A key whose request died mid-flight stays "in flight" (409) until it expires rather than risk
 * running a money-moving request twice.
 */
export const idempotencyPlugin = fp(async (app: FastifyInstance, opts: { db: Db; crypto: FieldCrypto }) => {
  const { db, crypto } = opts;
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (req, reply) => {
    if (!req.routeOptions.config.idempotent || !req.principal) return;
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !key) return;
    const principal = `${req.principal.kind}:${req.principal.id}`;
    const hash = requestHash(crypto, req);
    if (req.routeOptions.config.idempotent === 'in-transaction') {
      req.idempotency = { principal, key, hash, inTransaction: true };
      return;
    }
    // Written out: these two statements run on every idempotent request, and drizzle's builders cost more CPU than the rest of it.
    const claimed = await db.execute(sql`
      insert into ${idempotencyKeys} as k (principal, key, request_hash, state) values (${principal}, ${key}, ${hash}, 'in_flight')
      on conflict (principal, key) do update set request_hash = excluded.request_hash, state = 'in_flight', response_status = null, response_sealed = null,
        response_headers = null, resource_id = null, created_at = now()
      where k.created_at < now() - ${KEEP}
      returning key`);
    if (claimed.length) {
      req.idempotency = { principal, key, hash, inTransaction: false };
      return;
    }
    return replay(db, crypto, reply, { principal, key, hash });
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const claim = req.idempotency;
    if (!claim || claim.settled) return payload;
    req.idempotency = null;
    const where = and(eq(idempotencyKeys.principal, claim.principal), eq(idempotencyKeys.key, claim.key));
    // Postgres refused a statement: nothing committed, so a retry with this key may run it again.
    // So may one refused as busy (429): nothing was done.
    if (req.failure === 'rolled_back' || reply.statusCode === 429) {
      if (!claim.inTransaction) await db.delete(idempotencyKeys).where(where);
      return payload;
    }
    // The connection broke: a COMMIT may have landed. The key stays "in flight" (409) until it
    // expires; a key answered in its transaction committed (or not) with it.
    if (req.failure === 'unknown') return payload;
    // Any other 5xx (a failed serialisation after the commit, say) is stored and replayed, as Stripe
    // does: only a new key may risk running the work again.
    const headers: Record<string, string> = {};
    for (const h of ['content-type', 'location']) {
      const v = reply.getHeader(h);
      if (typeof v === 'string') headers[h] = v;
    }
    const text = typeof payload === 'string' ? payload : '';
    let resourceId: string | null = null;
    try {
      const id = (JSON.parse(text) as { id?: unknown }).id;
      if (typeof id === 'string') resourceId = id;
    } catch {
      // not JSON: nothing to link
    }
    try {
      if (claim.inTransaction) {
        // A refusal of work in a transaction has no claim to update. If a copy of the request
        // answered first (it ran while this one was refused), its answer stands and is given.
        const stored = await db.execute(answerUnlessAnswered(columnsOf([answerValues(crypto, claim, reply.statusCode, text, headers, resourceId)])));
        if (!stored.length) return (await priorAnswer(db, crypto, reply, claim)) ?? payload;
      } else {
        await db.execute(sql`
          update ${idempotencyKeys} set state = 'done', response_status = ${reply.statusCode}, response_sealed = ${crypto.encrypt(text)},
            response_headers = ${JSON.stringify(headers)}::jsonb, resource_id = ${resourceId}
          where principal = ${claim.principal} and key = ${claim.key}`);
      }
    } catch (err) {
      // The work is committed and the client still gets its answer. The key stays "in flight"
      // (retries get 409): refusing a retry is safe, running a money-moving request twice is not.
      req.log.error({ err }, 'could not store the idempotent response');
    }
    return payload;
  });
}, { name: 'platform-idempotency', dependencies: ['platform-auth'] });

/** Answers from the key's first request: its response, 409 while it runs, 422 for another request. */
async function replay(db: Db, crypto: FieldCrypto, reply: FastifyReply, claim: Pick<Claim, 'principal' | 'key' | 'hash'>) {
  const prior = await priorOf(db, claim);
  if (!prior) throw httpErrors.idempotency_request_in_flight(); // expired and re-claimed between two statements
  if (prior.state === 'in_flight') throw httpErrors.idempotency_request_in_flight();
  if (prior.requestHash !== claim.hash) throw httpErrors.idempotency_key_reused();
  // The stored body is already the serialised response: bypass the route's schema serializer.
  return reply.serializer((b) => b as string).send(replayed(crypto, reply, prior));
}

/** The stored answer of the same request, to send in place of this one's (onSend), if there is one. */
async function priorAnswer(db: Db, crypto: FieldCrypto, reply: FastifyReply, claim: Claim) {
  const prior = await priorOf(db, claim);
  return prior?.state === 'done' && prior.requestHash === claim.hash ? replayed(crypto, reply, prior) : undefined;
}

async function priorOf(db: Db, claim: Pick<Claim, 'principal' | 'key'>) {
  const [prior] = await db.select().from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.principal, claim.principal), eq(idempotencyKeys.key, claim.key)));
  return prior;
}

/** Sets the stored answer's status and headers on the reply; its body, unsealed. */
function replayed(crypto: FieldCrypto, reply: FastifyReply, prior: typeof idempotencyKeys.$inferSelect) {
  reply.status(prior.responseStatus!).headers({ ...prior.responseHeaders, 'idempotent-replayed': 'true' });
  return prior.responseSealed ? crypto.decrypt(prior.responseSealed) : '';
}

/** The key's answer, as the answer statements bind it. */
function answerValues(crypto: FieldCrypto, claim: Claim, status: number, text: string, headers: Record<string, string>, resourceId: string | null): AnswerRow {
  return { principal: claim.principal, key: claim.key, hash: claim.hash, status, sealed: crypto.encrypt(text), headers: JSON.stringify(headers), resourceId };
}

const ANSWER = ['principal', 'key', 'hash', 'status', 'sealed', 'headers', 'resourceId'] as const;

/** A key's answer, as the answer statements store it (`storeAnswers` several at once). */
export type AnswerRow = Record<(typeof ANSWER)[number], unknown>;

/** The answers' columns, as the answer statements bind them: one array a column. */
const columnsOf = (rows: AnswerRow[]) => Object.fromEntries(ANSWER.map((name) => [name, rows.map((r) => r[name])])) as AnswerRow;

// Prebuilt: a key answered in its transaction sends one of these with every request.
const answersInsertOf = (v: Record<(typeof ANSWER)[number], Bound>) => sql`
  insert into ${idempotencyKeys} as k (principal, key, request_hash, state, response_status, response_sealed, response_headers, resource_id)
    select principal, key, hash, 'done', status, sealed, headers::jsonb, resource_id
    from unnest(${v.principal}::text[], ${v.key}::text[], ${v.hash}::text[], ${v.status}::int[], ${v.sealed}::text[], ${v.headers}::text[], ${v.resourceId}::text[])
      as a(principal, key, hash, status, sealed, headers, resource_id)`;
const answersInsert = prebuilt(ANSWER, answersInsertOf);
/**
 * An answer after the work's transaction (a refusal before it), which gives way to an answer
 * already stored, unless that one has expired; the statement then returns no row.
 */
const answerUnlessAnswered = prebuilt(ANSWER, (v) => sql`${answersInsertOf(v)}
  on conflict (principal, key) do update set request_hash = excluded.request_hash, state = excluded.state, response_status = excluded.response_status,
    response_sealed = excluded.response_sealed, response_headers = excluded.response_headers, resource_id = excluded.resource_id, created_at = now()
  where k.created_at < now() - ${KEEP}
  returning 1`);
const turnStatement = prebuilt(['principal', 'key'], (v) => sql`select platform.idempotency_turn(${v.principal}, ${v.key})`);

/**
 * Keys' answers in one statement: one answered in its transaction, or several (a group of
 * redemptions, committed together). The statement fails if a key has an answer already.
 */
export const storeAnswers = (tx: Tx, rows: AnswerRow[]) => tx.execute(answersInsert(columnsOf(rows)));

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The key of a route declared `idempotent: 'in-transaction'`, for its transaction: `turn` goes
 * first (it waits for a request with the same key that is still running), `answer` last, with the
 * success's response, so that the work and its answer commit together (two statements and a
 * commit fewer than a claim of their own). A key already answered fails the transaction; the
 * route hands that failure to `replayIfTaken`. Undefined when the request has no key.
 */
export function keyInTransaction(req: FastifyRequest, reply: FastifyReply, crypto: FieldCrypto) {
  const claim = req.idempotency;
  if (!claim?.inTransaction) return undefined;
  const answerOf = (status: number, body: unknown, type: string) => {
    const text = String(reply.code(status).serialize(body));
    const id = (body as { id?: unknown }).id;
    return { text, row: answerValues(crypto, claim, status, text, { 'content-type': type }, typeof id === 'string' ? id : null) };
  };
  const store = (tx: Tx, status: number, body: unknown, type: string) => {
    const { text, row } = answerOf(status, body, type);
    storeAnswers(tx, [row]).then(undefined, () => {});
    return text;
  };
  return {
    /** A copy still running is waited for a second at most, then answered 409 (not stored). */
    turn: (tx: Tx) => tx.execute(turnStatement(claim)).then(undefined, (err: unknown) => {
      if (postgresCode(err) !== '55P03') throw err;
      claim.settled = true;
      throw httpErrors.idempotency_request_in_flight();
    }),
    /**
     * Serialises the response as the route's schema says and stores it; once committed, the route
     * sends the text with `send`. The INSERT is sent, not awaited, so that it goes out with the
     * COMMIT: if it fails, the transaction does (pipelinedTransaction), with its error.
     */
    answer: (tx: Tx, status: number, body: unknown) => store(tx, status, body, JSON_TYPE),
    /** The key, for a statement that takes its turn itself (`platform.idempotency_try_turn`). */
    held: { principal: claim.principal, key: claim.key },
    /** A success's answer (the text to `send` once committed) as a row for `storeAnswers`, which stores it with others in their transaction. */
    answerRow: (status: number, body: unknown) => answerOf(status, body, JSON_TYPE),
    /**
     * The refusal of a transaction that commits anyway (a wrong PIN's count), stored in it, so
     * that a copy waiting for the key replays it rather than running (and counting) again.
     */
    refuse(tx: Tx, err: AppError) {
      store(tx, err.status, problem(err), 'application/problem+json');
      claim.settled = true;
    },
    send(text: string) {
      claim.settled = true;
      return reply.header('content-type', JSON_TYPE).send(text);
    },
  };
}

/**
 * For a route whose transaction failed: if it failed because the key was answered already (its
 * turn, or its answer meeting another's), the replay of that answer; otherwise undefined.
 */
export async function replayIfTaken(db: Db, crypto: FieldCrypto, req: FastifyRequest, reply: FastifyReply, err: unknown) {
  const claim = req.idempotency;
  const code = postgresCode(err);
  if (!claim?.inTransaction || !(code === 'IK409' || (code === '23505' && postgresConstraint(err) === 'idempotency_keys_principal_key_pk'))) return undefined;
  claim.settled = true; // nothing of this request's is stored: the first request's answer stands
  return replay(db, crypto, reply, claim);
}

/**
 * For erasure: stored responses that describe the resource are replaced by a 410 problem, so a
 * retried request neither replays the erased data nor runs again.
 */
export async function blankIdempotentResponses(tx: Tx, crypto: FieldCrypto, resourceId: string) {
  const gone = JSON.stringify(problem(httpErrors.resource_erased()));
  await tx.update(idempotencyKeys)
    .set({ responseStatus: 410, responseSealed: crypto.encrypt(gone), responseHeaders: { 'content-type': 'application/problem+json' } })
    .where(eq(idempotencyKeys.resourceId, resourceId));
}

/** Cron task body: forget keys older than the replay window. */
export async function purgeIdempotencyKeys(db: Db) {
  await db.delete(idempotencyKeys).where(sql`${idempotencyKeys.createdAt} < now() - ${KEEP}`);
}
