import { defineErrors } from '../../platform/http/errors.js';

export const billingErrors = defineErrors({
  billing_account_not_found: { status: 404, title: 'No such billing account' },
  not_prepaid: { status: 409, title: 'The billing account is postpaid: it has invoices, not a prepaid balance' },
  account_closed: { status: 409, title: 'The billing account is closed' },
  currency_mismatch: { status: 422, title: 'The amount is not in the balance\'s currency' },
  balance_expired: { status: 409, title: 'The balance\'s validity has ended: recharge first' },
  insufficient_balance: { status: 409, title: 'The balance (with its credit limit) does not cover this debit' },
  duplicate_entry: { status: 409, title: 'This cause has already moved the balance' },
  credit_limit_below_debt: { status: 409, title: 'The balance is further below zero than that credit limit allows' },
  line_not_found: { status: 404, title: 'No such line' },
  forbidden_cap: { status: 403, title: 'Not this cap' },
  invoice_not_found: { status: 404, title: 'No such invoice' },
  duplicate_payment: { status: 409, title: 'This processor transaction has already been recorded' },
  record_beyond_dedupe: { status: 409, title: 'The record is older than the usage record ids are remembered' },
  rejected_record_not_found: { status: 404, title: 'No such rejected usage record' },
  charge_out_of_range: { status: 422, title: 'A record would cost more than an amount can hold: its quantity or the plan\'s rates are wrong' },
  credit_exceeds_invoice: { status: 422, title: 'A credit note cannot take off more than the invoice still holds' },
  same_account: { status: 422, title: 'A transfer goes to another account' },
  credit_note_not_found: { status: 404, title: 'No such credit note on this invoice' },
  supervisor_required: { status: 403, title: 'An adjustment this large needs a supervisor' },
  idempotency_key_required: { status: 400, title: 'Send an Idempotency-Key header: a retried recharge must never credit twice' },
});
