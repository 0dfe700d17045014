import { defineErrors } from '../../platform/http/errors.js';

export const campaignErrors = defineErrors({
  channel_not_allowed: { status: 422, title: 'Messages go by SMS or email only: there is no voice channel, and telemarketing is out of scope by design' },
  unknown_price_plan: { status: 422, title: 'No price plan has this code' },
  unknown_purpose: { status: 422, title: 'No such message purpose: name an event type the catalogue knows' },
  template_invalid: { status: 422, title: 'The template is not valid: see the problems' },
  preview_invalid: { status: 422, title: 'The preview cannot be rendered with these values, locale or time zone' },
  template_not_found: { status: 404, title: 'No such template' },
  trigger_not_found: { status: 404, title: 'No such trigger' },
  customer_not_found: { status: 404, title: 'No such customer' },
  campaign_not_found: { status: 404, title: 'No such campaign' },
  campaign_exists: { status: 409, title: 'A campaign with this code exists already' },
  transactional_needs_admin: { status: 403, title: 'Only an administrator sends a transactional campaign: it passes consent, quiet hours and frequency caps' },
  campaign_state: { status: 409, title: 'The campaign cannot do that from where it is' },
  message_not_found: { status: 404, title: 'No such message' },
  message_not_failed: { status: 409, title: 'Only a failed (dead-lettered) message can be re-driven' },
  unsubscribe_link_invalid: { status: 404, title: 'This unsubscribe link is not one we sent: check that it was copied whole' },
});
