import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import type { CustomerViewPart, CustomerViewRoot } from '../customers/index.js';
import { composeCustomerView, serviceViewPart } from './customer-view.js';
import type { ServiceSettings } from './tickets.js';

/** The root and the other modules' parts of the customer view, as src/app.ts hands them in. */
export interface CustomerViewWiring { root: CustomerViewRoot; parts: CustomerViewPart[] }

export const customerViewRoutes: FastifyPluginAsyncZod<{ db: Db; settings: ServiceSettings; customerView: CustomerViewWiring }> = async (app, { db, settings, customerView }) => {
  const view = composeCustomerView(db, customerView.root, [...customerView.parts, serviceViewPart(settings.recurring)]);

  app.get('/v1/customers/:id/360', {
    config: { auth: 'service:agent_read' },
    schema: {
      operationId: 'getCustomer360', tags: ['service'],
      summary: 'The customer 360° view for staff: the customer with contacts, consents and accounts; each module\'s part (balances and invoices, '
        + 'lines with plan and add-ons and recent orders, open and recent tickets with their SLA, recent interactions, incidents affecting them, '
        + 'voucher lockouts); and flags. A part that cannot be read shows {"error": code} in its slot; the rest still answers',
      params: z.object({ id: z.uuid() }),
      response: { 200: view.schema, ...problems(400, 404) },
    },
  }, async (req) => view.load(ctxOf(req), req.params.id, req.log));
};
