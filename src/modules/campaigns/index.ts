import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../platform/db/client.js';
import type { Subscriber } from '../../platform/events/events.js';
import type { JobsSetup } from '../../platform/jobs/jobs.js';
import { recordConversions } from './conversions.js';
import { type DeliverySettings, failStranded, type Providers, requeueSend, requeueSender, requeueWaiting, sendMessage, senderTask, sendTask } from './delivery.js';
import { dispatch, type DispatchSettings } from './dispatch.js';
import { applyEarlyEmailEvents } from './email-events.js';
import { fanOut, sendCampaign } from './fan-out.js';
import { type InboundSettings, receiveSms } from './inbound.js';
import { purposes } from './purposes.js';
import type { MessageChannel } from './tables.js';
import { applyReceipt } from './receipts.js';
import { eraseCustomerMessages } from './messages.js';
import { inboundRoutes } from './inbound-routes.js';
import { optOutRoutes } from './opt-outs.js';
import { campaignRoutes } from './routes.js';
import { scheduledRoutes } from './scheduled-routes.js';
import { smppProvider } from './smpp.js';
import type { UnsubscribeLinks } from './unsubscribe.js';
import { unsubscribeRoutes } from './unsubscribe-routes.js';

/**
 * Campaigns and messaging (issue 8). So far: templates per purpose, channel and language checked
 * against the purpose's variables; triggers that turn domain events into messages (consent for
 * marketing, opt-out for transactional, the customer's language), at most one per event, customer
 * and channel; quiet hours for marketing; email over SMTP and SMS over SMPP 3.4 (concatenated,
 * with delivery receipts) with retries, a dead-letter view and re-drive; STOP by SMS withdraws
 * SMS marketing consent; scheduled (optionally recurring) campaigns to a segment, fanned out in
 * pages and sent at a paced rate, with frequency caps, pause, resume, cancel and statistics.
 */
export interface CampaignDeps { db: Db; providers: Providers; settings: DispatchSettings & DeliverySettings & { concurrency: number; conversionDays: number }; unsubscribe: UnsubscribeLinks; inbound: InboundSettings }

export const campaignsModule: FastifyPluginAsync<CampaignDeps> = async (app, deps) => {
  await app.register(campaignRoutes, deps);
  await app.register(scheduledRoutes, deps);
  await app.register(inboundRoutes, deps);
  await app.register(optOutRoutes, deps);
  await app.register(unsubscribeRoutes, deps);
};

export const campaignsSubscribers = (deps: CampaignDeps): Subscriber[] => [{
  name: 'campaigns.dispatch',
  types: Object.keys(purposes),
  handleMany: (tx, events) => dispatch(tx, deps.settings, events),
}, {
  name: 'campaigns.conversions',
  types: ['balance.credited'],
  handleMany: (tx, events) => recordConversions(tx, deps.settings.conversionDays, events),
}, {
  name: 'campaigns.erase_customer',
  types: ['customer.erased'],
  handle: (tx, event) => eraseCustomerMessages(tx, (event.payload as { customerId: string }).customerId),
}];

export const campaignsJobs = (deps: CampaignDeps): Partial<JobsSetup> => ({
  tasks: {
    // A channel's sends are taken only where its provider is configured (see sendTask).
    ...Object.fromEntries((Object.keys(deps.providers) as MessageChannel[]).flatMap((channel) => [
      [sendTask(channel), async (payload: unknown) => { await sendMessage(deps.db, deps.providers, deps.settings, (payload as { messageId: string }).messageId); }],
      [senderTask(channel), async (payload: unknown) => { await sendCampaign(deps.db, deps.providers, deps.settings, (payload as { campaignId: string }).campaignId, channel); }],
    ])),
    // Jobs queued before sends had a task per channel: the message goes its channel's way now.
    'campaigns.send': async (payload) => { await requeueSend(deps.db, (payload as { messageId: string }).messageId); },
    'campaigns.send_campaign': async (payload) => { await requeueSender(deps.db, (payload as { campaignId: string }).campaignId); },
    'campaigns.sweep': async () => { await failStranded(deps.db); await requeueWaiting(deps.db); await applyEarlyEmailEvents(deps.db); },
    'campaigns.fan_out': async (payload) => { await fanOut(deps.db, deps.settings, (payload as { campaignId: string }).campaignId); },
  },
  // Every five minutes: messages stranded in `sending` fail as unknown, waiting ones without a job get one.
  cron: [{ pattern: '*/5 * * * *', task: 'campaigns.sweep' }],
});

export { smtpProvider } from './email.js';
export { unsubscribeLinks } from './unsubscribe.js';

/**
 * The SMSC from `smpp://system_id:password@host:port`: receipts update the messages' parts, and a
 * customer's SMS (an opt-out keyword) reaches receiveSms. Bound at once, so both arrive before the
 * first send.
 */
export function smsCentre(db: Db, url: string, s: { sourceAddr: string; window: number } & InboundSettings) {
  const u = new URL(url);
  const provider = smppProvider({
    url: `smpp://${u.host}`, systemId: decodeURIComponent(u.username), password: decodeURIComponent(u.password), sourceAddr: s.sourceAddr, window: s.window,
    enquireLinkMs: 30_000, reconnectMs: 5_000, responseTimeoutMs: 10_000,
  }, { receipt: (r) => applyReceipt(db, r), inbound: (m) => receiveSms(db, s, m) });
  provider.connect();
  return provider;
}
export { parseQuietHours } from './send-rules.js';
