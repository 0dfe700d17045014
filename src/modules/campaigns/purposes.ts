import type { Catalogue } from './template-rules.js';

/**
 * The events a trigger may send a message on, what their templates may say, and whom they concern.
 * `essential`: a notice the customer cannot opt out of (a bill, a reminder, an outage), as contract
 * law usually has it; other transactional messages honour an explicit transactional opt-out.
 * Marketing messages always need the customer's marketing consent for the channel.
 */
export interface Purpose {
  variables: Catalogue;
  kind: 'transactional' | 'marketing';
  essential: boolean;
  /** The customers the event concerns. */
  recipients: (payload: Record<string, unknown>) => string[];
}

const customer = (p: Record<string, unknown>) => (typeof p.customerId === 'string' ? [p.customerId] : []);
const transactional = (variables: Catalogue, essential = false, recipients = customer): Purpose => ({ variables, kind: 'transactional', essential, recipients });

/** Every template may also name the customer. */
export const customerVariables: Catalogue = { 'customer.name': 'text' };

export const purposes: Record<string, Purpose> = {
  'balance.low': transactional({ balance: 'money', threshold: 'money' }),
  'payment.received': transactional({ amount: 'money' }),
  'invoice.issued': transactional({ number: 'text', total: 'money', dueAt: 'datetime' }, true),
  'invoice.paid': transactional({ number: 'text' }),
  'invoice.reminder': transactional({ number: 'text', total: 'money', dueAt: 'datetime', daysLate: 'number' }, true),
  'voucher.redeemed': transactional({ serial: 'text', faceValue: 'money' }),
  'order.completed': transactional({ orderId: 'text', type: 'text' }),
  'outage.customers_affected': transactional({ title: 'text', startsAt: 'datetime', estimatedEndAt: 'datetime', endedAt: 'datetime' }, true,
    (p) => (Array.isArray(p.customerIds) ? p.customerIds.filter((id): id is string => typeof id === 'string') : [])),
  'ticket.csat_requested': transactional({ number: 'text', token: 'text', expiresAt: 'datetime' }),
  'ticket.status_changed': transactional({ number: 'text', to: 'text' }),
  // The confirmation of an opt-out must reach the customer who just opted out.
  'sms.stop_received': transactional({ keyword: 'text' }, true),
};

/** A campaign's own templates (`campaign.<code>`) may name the customer only. */
export const campaignPurpose = (code: string) => `campaign.${code}`;

export const catalogueOf = (purpose: string): Catalogue | undefined => {
  if (/^campaign\.[a-z0-9_]+$/.test(purpose)) return customerVariables;
  const p = purposes[purpose];
  return p && { ...customerVariables, ...p.variables };
};
