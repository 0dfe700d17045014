import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../platform/db/client.js';
import type { Subscriber } from '../../platform/events/events.js';
import type { JobsSetup } from '../../platform/jobs/jobs.js';
import { type DeliverySettings, failStranded, type Providers, sendMessage } from './delivery.js';
import { dispatch, type DispatchSettings } from './dispatch.js';
import { purposes } from './purposes.js';
import { campaignRoutes } from './routes.js';

/**
 * Campaigns and messaging (issue 8). So far: templates per purpose, channel and language checked
 * against the purpose's variables; triggers that turn domain events into messages (consent for
 * marketing, opt-out for transactional, the customer's language), at most one per event, customer
 * and channel; email over SMTP with retries, a dead-letter view and re-drive.
 */
export interface CampaignDeps { db: Db; providers: Providers; settings: DispatchSettings & DeliverySettings }

export const campaignsModule: FastifyPluginAsync<CampaignDeps> = async (app, deps) => {
  await app.register(campaignRoutes, deps);
};

export const campaignsSubscribers = (deps: CampaignDeps): Subscriber[] => [{
  name: 'campaigns.dispatch',
  types: Object.keys(purposes),
  handle: (tx, event) => dispatch(tx, deps.settings, event),
}];

export const campaignsJobs = (deps: CampaignDeps): Partial<JobsSetup> => ({
  tasks: {
    'campaigns.send': async (payload) => { await sendMessage(deps.db, deps.providers, deps.settings, (payload as { messageId: string }).messageId); },
    'campaigns.fail_stranded': async () => { await failStranded(deps.db); },
  },
  cron: [{ pattern: '*/5 * * * *', task: 'campaigns.fail_stranded' }],
});

export { smtpProvider } from './email.js';
export { parseQuietHours } from './send-rules.js';
