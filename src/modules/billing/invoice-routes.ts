import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import { actorSeenBy } from '../../platform/context.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { idempotencyHeaders } from '../../platform/http/idempotency.js';
import { decodeCursor, page, toPage } from '../../platform/http/pagination.js';
import { billRun, type BillRunSettings } from './bill-run.js';
import { billingErrors } from './errors.js';
import { issueCreditNote } from './credit-notes.js';
import { renderCreditNote, renderInvoice } from './invoice-document.js';
import type { BillingSettings } from './recharges.js';
import { dunningRun, type DunningSettings, listInvoices, recordPayment, visibleInvoice } from './payments.js';
import { currencyCode } from '../../platform/http/money.js';

const tags = ['billing'];
const params = z.object({ id: z.uuid() });
const money = (d: string) => z.number().int().describe(d);

const invoiceSummary = z.object({
  id: z.uuid(), number: z.string(), billingAccountId: z.uuid(), currency: z.string(), periodStart: z.date(), periodEnd: z.date(),
  country: z.string().nullable(), taxRateBp: z.number().int(), subtotal: money('Minor units'), tax: money('Minor units'), total: money('Minor units'),
  paid: money('Minor units'), credited: money('Taken off by credit notes'), issuedAt: z.date(), dueAt: z.date(), dunning: z.array(z.string()),
});
const creditNoteView = z.object({
  id: z.uuid(), number: z.string(), invoiceId: z.uuid(), subtotal: z.number().int(), tax: z.number().int(), total: z.number().int(),
  currency: z.string(), reason: z.string(), issuedBy: z.string().describe('"staff:<id>"; customers and partners read only "staff"'), issuedAt: z.date(),
});
const invoiceView = invoiceSummary.extend({
  due: money('What is still to pay'),
  lines: z.array(z.object({ id: z.uuid(), kind: z.string(), description: z.string(), amount: money('Minor units; negative for a credit'), ref: z.string() })),
  creditNotes: z.array(creditNoteView),
});

export const invoiceRoutes: FastifyPluginAsyncZod<{ db: Db; settings: BillingSettings; billRun: BillRunSettings; dunning: DunningSettings }> = async (app, deps) => {
  const { db } = deps;
  app.post('/v1/billing/bill-runs', {
    config: { auth: 'billing:run' },
    schema: {
      operationId: 'runBills', tags, summary: 'Run the bill run now (it also runs every hour): one invoice per postpaid account whose last cycle ended, never two',
      response: { 200: z.object({ issued: z.number().int(), failed: z.number().int().describe('Accounts that could not be invoiced (logged; retried next run)') }), ...problems(400) },
    },
  }, async (req) => billRun(db, deps.billRun, { error: (meta, message) => req.log.error(meta, message) }));

  app.post('/v1/billing/dunning-runs', {
    config: { auth: 'billing:run' },
    schema: {
      operationId: 'runDunning', tags, summary: 'Run dunning now (it also runs every hour): reminders on the configured days after the due date, then the lines barred',
      response: { 200: z.object({ reminders: z.number().int(), suspended: z.number().int() }), ...problems(400) },
    },
  }, async () => dunningRun(db, deps.dunning));

  app.get('/v1/billing-accounts/:id/invoices', {
    config: { auth: 'billing:read' },
    schema: {
      operationId: 'listInvoices', tags, summary: 'The account\'s invoices, newest first', params,
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(200).optional() }),
      response: { 200: page(invoiceSummary), ...problems(400, 404) },
    },
  }, async (req) => {
    const [after] = decodeCursor(req.query.cursor, z.tuple([z.uuid()])) ?? [];
    return toPage(await listInvoices(db, ctxOf(req), req.params.id, { limit: req.query.limit, after }), req.query.limit, (i) => [i.id]);
  });

  app.get('/v1/invoices/:id', {
    config: { auth: 'billing:read' },
    schema: { operationId: 'getInvoice', tags, summary: 'An invoice with its lines and what is still due', params, response: { 200: invoiceView, ...problems(400, 404) } },
  }, async (req) => {
    const invoice = await visibleInvoice(db, ctxOf(req), req.params.id);
    return { ...invoice, creditNotes: invoice.creditNotes.map((n) => ({ ...n, issuedBy: actorSeenBy(ctxOf(req), n.issuedBy) })) };
  });

  app.get('/v1/invoices/:id/document', {
    config: { auth: 'billing:read' },
    schema: {
      operationId: 'getInvoiceDocument', tags, summary: 'The invoice as an HTML document a customer can read or print', params,
      response: { 200: z.string().describe('text/html'), ...problems(400, 404) },
    },
  }, async (req, reply) => reply.type('text/html; charset=utf-8').send(renderInvoice(await visibleInvoice(db, ctxOf(req), req.params.id))));

  app.get('/v1/invoices/:id/credit-notes/:noteId/document', {
    config: { auth: 'billing:read' },
    schema: {
      operationId: 'getCreditNoteDocument', tags, summary: 'A credit note as a self-contained HTML page a customer can read or print',
      params: z.object({ id: z.uuid(), noteId: z.uuid() }), response: { 200: z.string().describe('text/html'), ...problems(400, 404) },
    },
  }, async (req, reply) => {
    const inv = await visibleInvoice(db, ctxOf(req), req.params.id);
    const note = inv.creditNotes.find((n) => n.id === req.params.noteId);
    if (!note) throw billingErrors.credit_note_not_found();
    return reply.type('text/html; charset=utf-8').send(renderCreditNote(note, inv));
  });

  app.post('/v1/invoices/:id/payments', {
    config: { auth: 'billing:recharge', idempotent: true },
    schema: {
      operationId: 'payInvoice', tags,
      summary: 'Record a payment (the processor\'s transaction id, never a card number): this invoice first, then older open ones, the rest kept as credit; Idempotency-Key required',
      params, headers: idempotencyHeaders,
      body: z.object({
        amount: z.number().int().min(1).max(100_000_000), currency: currencyCode,
        processorRef: z.string().trim().min(1).max(100)
          .refine((r) => !/^(credit-note|invoice-credit):/.test(r), 'this prefix is the system\'s own')
          .refine((r) => !/^\d{13,19}$/.test(r.replace(/[\s-]/g, '')), 'this looks like a card number: send the processor\'s transaction id, never a card number'),
      }).strict(),
      response: {
        201: z.object({ id: z.uuid(), invoiceId: z.uuid(), amount: z.number().int(), currency: z.string(), applied: z.number().int(), credit: z.number().int(), processorRef: z.string() }),
        ...problems(400, 404, 409, 422),
      },
    },
  }, async (req, reply) => {
    if (!req.headers['idempotency-key']) throw billingErrors.idempotency_key_required('Send an Idempotency-Key header: a retried payment must never count twice');
    return reply.status(201).send(await recordPayment(db, ctxOf(req), req.params.id, req.body));
  });

  app.post('/v1/invoices/:id/credit-notes', {
    config: { auth: 'billing:adjust', idempotent: true },
    schema: {
      operationId: 'issueCreditNote', tags,
      summary: 'Correct an issued invoice by a credit note (net amount; the invoice\'s tax rate is added): less is due, or the account gets credit; large ones need a supervisor',
      params, headers: idempotencyHeaders,
      body: z.object({ amount: z.number().int().min(1).max(100_000_000).describe('Net, minor units'), reason: z.string().trim().min(3).max(500) }).strict(),
      response: { 201: creditNoteView.extend({ accountCredit: z.number().int() }), ...problems(400, 403, 404, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await issueCreditNote(db, ctxOf(req), deps.settings, req.params.id, req.body)));
};
