import { defineErrors } from '../../platform/http/errors.js';

export const orderErrors = defineErrors({
  price_plan_not_found: { status: 404, title: 'No such price plan' },
  price_plan_code_taken: { status: 409, title: 'A price plan with this code exists' },
  price_plan_not_draft: { status: 409, title: 'Only a draft plan can be edited in place; publish a new version instead' },
  price_plan_not_active: { status: 409, title: 'The plan is not active' },
  price_plan_retired: { status: 409, title: 'The plan is retired' },
  currency_mismatch: { status: 422, title: 'A new version keeps the plan\'s currency' },
});
