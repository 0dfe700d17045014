import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { customerSegments } from '../customers/index.js';
import { audience, campaignStats, control, createCampaign, getCampaign, listCampaigns } from './campaigns.js';
import { campaignStatuses, messageChannels, messageKinds } from './tables.js';
import { isoInstant } from '../../platform/http/instant.js';

const tags = ['campaigns'];
const id = z.uuid();
const segment = z.object({
  segments: z.array(z.enum(customerSegments)).max(3).optional(),
  languages: z.array(z.string().regex(/^[a-z]{2}(-[A-Za-z0-9]{2,8})*$/)).max(50).optional().describe('Preferred languages; "pt" also takes "pt-BR"'),
  regions: z.array(z.string().trim().min(1).max(100)).max(100).optional().describe('Regions of a home, installation or billing address'),
  consent: z.enum(['sms', 'email']).optional().describe('Has given marketing consent on this channel'),
  accountType: z.enum(['prepaid', 'postpaid']).optional(),
  plans: z.array(z.string().trim().min(1).max(60)).max(50).optional().describe('Price plan codes: has a line (not terminated) on one of them'),
}).strict();
const campaignView = z.object({
  id, code: z.string(), name: z.string(), kind: z.enum(messageKinds), channels: z.array(z.enum(messageChannels)), segment,
  status: z.enum(campaignStatuses), scheduledAt: z.date().nullable(), repeatEveryDays: z.number().int().nullable(), run: z.number().int(),
  targeted: z.number().int().describe('Customers of the segment the current run has reached'), createdBy: z.string(), createdAt: z.date(), updatedAt: z.date(),
  startedAt: z.date().nullable(), finishedAt: z.date().nullable(),
});
const params = z.object({ id });

/** Campaigns to a segment: defined, previewed, started now or at a time (optionally every N days), paused, resumed, cancelled, counted. */
export const scheduledRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post('/v1/campaigns', {
    config: { auth: 'campaigns:manage' },
    schema: {
      operationId: 'createCampaign', tags, summary: 'A campaign to a segment; its text is the templates of purpose campaign.<code> (one per channel and language)',
      body: z.object({
        code: z.string().regex(/^[a-z0-9_]{2,40}$/), name: z.string().trim().min(1).max(200), channels: z.array(z.string().min(1).max(40)).min(1).max(2).describe('sms and/or email, in order of preference'),
        segment, kind: z.enum(messageKinds).optional().describe('marketing (default) needs consent'), repeatEveryDays: z.number().int().min(1).max(365).nullable().optional(),
      }).strict(),
      response: { 201: campaignView, ...problems(400, 409, 422) },
    },
  }, async (req, reply) => reply.status(201).send(await createCampaign(db, ctxOf(req), req.body)));

  app.get('/v1/campaigns', {
    config: { auth: 'messages:read' },
    schema: { operationId: 'listCampaigns', tags, summary: 'Campaigns, newest first', response: { 200: z.object({ items: z.array(campaignView) }) } },
  }, async () => ({ items: await listCampaigns(db) }));

  app.get('/v1/campaigns/:id', {
    config: { auth: 'messages:read' },
    schema: { operationId: 'getCampaign', tags, summary: 'A campaign', params, response: { 200: campaignView, ...problems(400, 404) } },
  }, async (req) => getCampaign(db, req.params.id));

  app.get('/v1/campaigns/:id/audience', {
    config: { auth: 'campaigns:manage' },
    schema: { operationId: 'previewCampaignAudience', tags, summary: 'How many customers the segment holds now', params, response: { 200: z.object({ campaignId: id, customers: z.number().int() }), ...problems(400, 404) } },
  }, async (req) => audience(db, req.params.id));

  app.post('/v1/campaigns/:id/start', {
    config: { auth: 'campaigns:manage' },
    schema: {
      operationId: 'startCampaign', tags, summary: 'Run a draft campaign now, or at a time', params,
      body: z.object({ at: isoInstant.optional() }).strict().nullish().describe('None, or no `at`: now'), response: { 200: campaignView, ...problems(400, 404, 409) },
    },
  }, async (req) => control(db, ctxOf(req), req.params.id, 'start', req.body?.at ? new Date(req.body.at) : undefined));

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    app.post(`/v1/campaigns/:id/${action}`, {
      config: { auth: 'campaigns:manage' },
      schema: {
        operationId: `${action}Campaign`, tags, params, response: { 200: campaignView, ...problems(400, 404, 409) },
        summary: { pause: 'Stop fanning out and sending where it is', resume: 'Go on from where it was paused', cancel: 'Stop for good: what was not sent is skipped' }[action],
      },
    }, async (req) => control(db, ctxOf(req), req.params.id, action));
  }

  app.get('/v1/campaigns/:id/stats', {
    config: { auth: 'messages:read' },
    schema: {
      operationId: 'getCampaignStats', tags, summary: 'Targeted, queued, held, sent, delivered, failed, skipped and opted out; per state, channel and language', params,
      querystring: z.object({ run: z.coerce.number().int().min(1).optional().describe('One run of a recurring campaign; left out: every run so far') }).strict(),
      response: {
        200: z.object({
          campaignId: id, status: z.enum(campaignStatuses), run: z.number().int(), targeted: z.number().int(), queued: z.number().int(), held: z.number().int(), sent: z.number().int(),
          delivered: z.number().int(), failed: z.number().int(), skipped: z.number().int(), optedOut: z.number().int().describe('Skipped for want of consent'),
          conversions: z.number().int().describe('Customers who recharged or redeemed a voucher within CONVERSION_DAYS after it reached them (once a run)'),
          conversionRate: z.number().nullable().describe('Conversions per message sent'),
          breakdown: z.array(z.object({ state: z.string(), channel: z.string(), language: z.string().nullable(), reason: z.string().nullable(), n: z.number().int() })),
        }),
        ...problems(400, 404),
      },
    },
  }, async (req) => campaignStats(db, req.params.id, req.query.run));
};
