import { defineErrors } from '../../platform/http/errors.js';

export const serviceErrors = defineErrors({
  ticket_not_found: { status: 404, title: 'No such ticket' },
  customer_not_found: { status: 404, title: 'No such customer' },
  line_not_found: { status: 404, title: 'No such line of this customer' },
  order_not_found: { status: 404, title: 'No such order of this customer' },
  invoice_not_found: { status: 404, title: 'No such invoice of this customer' },
  ticket_uncategorised: { status: 422, title: 'The ticket has no service type and no triage rule matches it: say which service it concerns' },
  unknown_subcategory: { status: 422, title: 'No such subcategory under this service type' },
  subcategory_exists: { status: 409, title: 'This subcategory exists already' },
  ticket_closed: { status: 409, title: 'The ticket is closed: open a new one' },
  reopen_window_passed: { status: 409, title: 'The ticket was resolved too long ago to reopen: open a new one' },
  transition_not_allowed: { status: 409, title: 'The ticket cannot move to that status from where it is' },
  pending_needs_reason: { status: 400, title: 'A pending ticket says whom it waits on (pendingOn)' },
  invalid_calendar: { status: 422, title: 'The business calendar is not valid' },
  calendar_not_found: { status: 404, title: 'No such business calendar' },
  incident_not_found: { status: 404, title: 'No such incident' },
  incident_resolved: { status: 409, title: 'The incident is resolved already' },
  article_not_found: { status: 404, title: 'No such article' },
  article_exists: { status: 409, title: 'That article exists already in that language' },
  internal_note_not_allowed: { status: 403, title: 'Only staff write internal notes' },
});
