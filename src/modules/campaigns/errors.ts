import { defineErrors } from '../../platform/http/errors.js';

export const campaignErrors = defineErrors({
  channel_not_allowed: { status: 422, title: 'Messages go by SMS or email only: there is no voice channel, and telemarketing is out of scope by design' },
  unknown_purpose: { status: 422, title: 'No such message purpose: name an event type the catalogue knows' },
  template_invalid: { status: 422, title: 'The template is not valid: see the problems' },
  template_not_found: { status: 404, title: 'No such template' },
  trigger_not_found: { status: 404, title: 'No such trigger' },
  message_not_found: { status: 404, title: 'No such message' },
  message_not_failed: { status: 409, title: 'Only a failed (dead-lettered) message can be re-driven' },
});
