import { defineErrors } from '../../platform/http/errors.js';

export const customerErrors = defineErrors({
  customer_not_found: { status: 404, title: 'No such customer' },
  contact_point_not_found: { status: 404, title: 'No such contact point' },
  address_not_found: { status: 404, title: 'No such address' },
  identity_document_not_found: { status: 404, title: 'No such identity document' },
  billing_account_not_found: { status: 404, title: 'No such billing account' },
  field_not_editable: { status: 403, title: 'This caller may not change that field' },
  customer_erased: { status: 409, title: 'The customer was erased; its record can no longer change' },
  customer_name_required: { status: 422, title: 'An individual needs given and family name; a business needs a company name' },
  telemarketing_not_allowed: { status: 422, title: 'There is no voice or telemarketing channel, by design' },
  billing_cycle_mismatch: { status: 422, title: 'A postpaid account needs billCycleDay; a prepaid one has none' },
  billing_account_in_use: { status: 409, title: 'The billing account still has lines: terminate them first' },
  invalid_search: { status: 400, title: 'Search by exactly one of msisdn, email, name or documentNumber' },
});
