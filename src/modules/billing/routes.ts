import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import { actorSeenBy } from '../../platform/context.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { idempotencyHeaders } from '../../platform/http/idempotency.js';
import { decodeCursor, page, toPage } from '../../platform/http/pagination.js';
import { billingErrors } from './errors.js';
import { getBalance, listEntries, reconcile, reconcileAll } from './ledger.js';
import { adjust, type BillingSettings, recharge, transfer, updateBalanceSettings } from './recharges.js';
import { entryTypes } from './tables.js';
import { currencyCode } from '../../platform/http/money.js';

const tags = ['billing'];
const params = z.object({ id: z.uuid().describe('The billing account') });
const MAX = 100_000_000; // a million in the major unit: larger is a typing mistake, not a recharge

const balanceView = z.object({
  billingAccountId: z.uuid(), currency: z.string(), amount: z.number().int(), creditLimit: z.number().int(),
  lowBalanceThreshold: z.number().int().nullable(), validUntil: z.date().nullable(), updatedAt: z.date(),
});
const entryView = z.object({
  id: z.uuid(), seq: z.number().int().describe('Place in the account\'s ledger: 1, 2, 3 ... in the order applied'), type: z.enum(entryTypes), amount: z.number().int().describe('Signed: credits positive, debits negative'), currency: z.string(),
  balanceAfter: z.number().int(), refType: z.string(), refId: z.string(), reason: z.string().nullable(), actor: z.string(), createdAt: z.coerce.date(),
});

export const billingRoutes: FastifyPluginAsyncZod<{ db: Db; settings: BillingSettings }> = async (app, { db, settings }) => {
  app.get('/v1/billing-accounts/:id/balance', {
    config: { auth: 'billing:read' },
    schema: { operationId: 'getBalance', tags, summary: 'The prepaid balance, its credit limit, warning threshold and validity', params, response: { 200: balanceView, ...problems(400, 404, 409) } },
  }, async (req) => getBalance(db, ctxOf(req), req.params.id));

  app.patch('/v1/billing-accounts/:id/balance', {
    config: { auth: 'billing:adjust' },
    schema: {
      operationId: 'updateBalanceSettings', tags, summary: 'Set the low-balance warning threshold, or (supervisors) the credit limit',
      params, body: z.object({ creditLimit: z.number().int().min(0).max(MAX), lowBalanceThreshold: z.number().int().min(0).max(MAX).nullable() }).partial().strict(),
      response: { 200: balanceView, ...problems(400, 403, 404, 409) },
    },
  }, async (req) => updateBalanceSettings(db, ctxOf(req), req.params.id, req.body));

  app.post('/v1/billing-accounts/:id/recharges', {
    config: { auth: 'billing:recharge', idempotent: true },
    schema: {
      operationId: 'rechargeBalance', tags,
      summary: 'Credit a prepaid balance (a CSR\'s till or an external payment, named by the processor\'s transaction id); Idempotency-Key required',
      params, headers: idempotencyHeaders,
      body: z.object({
        amount: z.object({ amount: z.number().int().min(1).max(MAX), currency: currencyCode }).strict(),
        paymentRef: z.string().trim().min(1).max(100).optional().describe('The payment processor\'s transaction id. Card numbers are never accepted.'),
      }).strict(),
      response: { 201: entryView, ...problems(400, 404, 409, 422) },
    },
  }, async (req, reply) => {
    if (!req.headers['idempotency-key']) throw billingErrors.idempotency_key_required();
    return reply.status(201).send(await recharge(db, ctxOf(req), settings, req.params.id, req.body));
  });

  app.post('/v1/billing-accounts/:id/adjustments', {
    config: { auth: 'billing:adjust', idempotent: true },
    schema: {
      operationId: 'adjustBalance', tags, summary: 'Correct a prepaid balance either way, with a reason (large ones need a supervisor); audited; Idempotency-Key required',
      params, headers: idempotencyHeaders,
      body: z.object({
        amount: z.number().int().min(-MAX).max(MAX).refine((n) => n !== 0, 'not zero').describe('Signed minor units'),
        currency: currencyCode, reason: z.string().trim().min(3).max(500),
      }).strict(),
      response: { 201: entryView, ...problems(400, 403, 404, 409, 422) },
    },
  }, async (req, reply) => {
    if (!req.headers['idempotency-key']) throw billingErrors.idempotency_key_required('Send an Idempotency-Key header: a retried adjustment must never apply twice');
    return reply.status(201).send(await adjust(db, ctxOf(req), settings, req.params.id, req.body));
  });

  app.post('/v1/billing-accounts/:id/transfers', {
    config: { auth: 'billing:transfer', idempotent: true },
    schema: {
      operationId: 'transferBalance', tags,
      summary: 'Move prepaid money from this account to another: a debit and a credit under one transfer id, all or nothing (customers between their own accounts); Idempotency-Key required',
      params, headers: idempotencyHeaders,
      body: z.object({
        toBillingAccountId: z.uuid(), amount: z.object({ amount: z.number().int().min(1).max(MAX), currency: currencyCode }).strict(),
        reason: z.string().trim().min(3).max(500).optional(),
      }).strict(),
      response: {
        201: z.object({ id: z.uuid().describe('The transfer: refId of both entries'), amount: z.object({ amount: z.number().int(), currency: z.string() }), from: entryView, to: entryView }),
        ...problems(400, 403, 404, 409, 422),
      },
    },
  }, async (req, reply) => {
    if (!req.headers['idempotency-key']) throw billingErrors.idempotency_key_required('Send an Idempotency-Key header: a retried transfer must never move money twice');
    return reply.status(201).send(await transfer(db, ctxOf(req), settings, req.params.id, req.body));
  });

  app.get('/v1/billing-accounts/:id/ledger', {
    config: { auth: 'billing:read' },
    schema: {
      operationId: 'listLedgerEntries', tags, summary: 'The balance\'s ledger, newest first',
      params, querystring: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(200).optional() }),
      response: { 200: page(entryView), ...problems(400, 404) },
    },
  }, async (req) => {
    const [before] = decodeCursor(req.query.cursor, z.tuple([z.number().int()])) ?? [];
    const ctx = ctxOf(req);
    const entries = await listEntries(db, ctx, req.params.id, { limit: req.query.limit, before });
    // Customers and partners see what moved and why, not which member of staff moved it.
    const shown = entries.map((e) => ({ ...e, actor: actorSeenBy(ctx, e.actor) }));
    return toPage(shown, req.query.limit, (e) => [e.seq]);
  });

  app.get('/v1/billing-accounts/:id/ledger/reconciliation', {
    config: { auth: 'billing:read' },
    schema: {
      operationId: 'reconcileLedger', tags, summary: 'Proof that the balance equals the sum of its ledger entries and that their running balances chain up',
      params, response: { 200: z.object({ balance: z.number().int(), entriesSum: z.number().int(), entries: z.number().int(), lastBalanceAfter: z.number().int().nullable(), consistent: z.boolean() }), ...problems(400, 404, 409) },
    },
  }, async (req) => {
    await getBalance(db, ctxOf(req), req.params.id);
    return reconcile(db, req.params.id);
  });

  app.get('/v1/billing/reconciliation', {
    config: { auth: 'audit:read' },
    schema: {
      operationId: 'reconcileAllLedgers', tags, summary: 'Every balance whose ledger does not add up to it (an empty list is the proof)',
      response: { 200: z.object({ mismatches: z.array(z.object({ billingAccountId: z.uuid(), balance: z.number().int(), entriesSum: z.number().int() })) }), ...problems(400) },
    },
  }, async () => ({ mismatches: [...(await reconcileAll(db))] }));
};
