import { defineErrors } from '../../platform/http/errors.js';

export const orderErrors = defineErrors({
  price_plan_not_found: { status: 404, title: 'No such price plan' },
  price_plan_code_taken: { status: 409, title: 'A price plan with this code exists' },
  price_plan_not_draft: { status: 409, title: 'Only a draft plan can be edited in place; publish a new version instead' },
  price_plan_not_active: { status: 409, title: 'The plan is not active' },
  price_plan_retired: { status: 409, title: 'The plan is retired' },
  currency_mismatch: { status: 422, title: 'A new version keeps the plan\'s currency' },
  number_pool_exhausted: { status: 409, title: 'No number of that category is available' },
  sim_pool_exhausted: { status: 409, title: 'No SIM card is available' },
  resource_not_available: { status: 409, title: 'That number or SIM is not available' },
  resources_already_exist: { status: 409, title: 'Some of the imported numbers or SIMs (by number, ICCID or IMSI) exist already; nothing was imported' },
  duplicate_rows: { status: 422, title: 'The import names the same number or SIM more than once; nothing was imported' },
  reservation_not_found: { status: 404, title: 'No such reservation' },
});
