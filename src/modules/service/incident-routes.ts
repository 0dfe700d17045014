import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { decodeCursor, page, pageQuery, toPage } from '../../platform/http/pagination.js';
import { applyAlert, fromAlertmanager, getIncident, listIncidents, outagesAt, reportIncident, resolveIncident, updateIncident } from './incidents.js';
import { incidentStatuses, serviceTypes } from './tables.js';
import { instant } from '../../platform/http/instant.js';

const tags = ['service'];
const id = z.uuid();
const params = z.object({ id });
const areaList = z.array(z.string().trim().min(1).max(40)).max(1000);
const areaLists = { cells: areaList, postcodes: areaList, regions: areaList };
const areas = z.object({ cells: areaList.default([]), postcodes: areaList.default([]), regions: areaList.default([]) }).strict();
const statusText = z.record(z.string().regex(/^[a-z]{2}$/), z.string().min(1).max(2000)).describe('By language: {"en": "...", "de": "..."}');
const severity = z.enum(['minor', 'major', 'critical']);
const incidentBody = {
  title: z.string().trim().min(3).max(200), severity, services: z.array(z.enum(serviceTypes)).min(1).max(5), areas, statusText: statusText.default({}),
};
const incidentView = z.object({
  id, title: z.string(), severity, status: z.enum(incidentStatuses), services: z.array(z.enum(serviceTypes)),
  areas: z.object({ cells: z.array(z.string()), postcodes: z.array(z.string()), regions: z.array(z.string()) }), statusText: z.record(z.string(), z.string()),
  startsAt: z.date(), estimatedEndAt: z.date().nullable(), endedAt: z.date().nullable(), source: z.string(), fingerprint: z.string().nullable(), createdAt: z.date(), updatedAt: z.date(),
});
const outcome = z.object({ fingerprint: z.string(), outcome: z.enum(['opened', 'updated', 'unchanged', 'reopened', 'resolved', 'ignored']).describe('unchanged: a repeated notification saying nothing new'), incidentId: id.nullable() });

export const incidentRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post('/v1/incidents', {
    config: { auth: 'incidents:manage' },
    schema: {
      operationId: 'reportIncident', tags, summary: 'An outage now, or planned maintenance (startsAt in the future: announced ahead, opened when it starts)',
      body: z.object({ ...incidentBody, startsAt: instant.optional(), estimatedEndAt: instant.nullable().optional() }).strict()
        .refine((b) => !b.estimatedEndAt || b.estimatedEndAt > (b.startsAt ?? new Date()), { message: 'after startsAt (or now)', path: ['estimatedEndAt'] }),
      response: { 201: incidentView, ...problems(400) },
    },
  }, async (req, reply) => reply.status(201).send(await reportIncident(db, ctxOf(req), req.body)));

  app.get('/v1/incidents', {
    config: { auth: 'service:agent_read' },
    schema: { operationId: 'listIncidents', tags, summary: 'Incidents, newest first', querystring: pageQuery.extend({ status: z.enum(incidentStatuses).optional() }), response: { 200: page(incidentView), ...problems(400) } },
  }, async (req) => {
    const [before] = decodeCursor(req.query.cursor, z.tuple([z.uuid()])) ?? [];
    return toPage(await listIncidents(db, { status: req.query.status, limit: req.query.limit, before }), req.query.limit, (i) => [i.id]);
  });

  app.get('/v1/incidents/:id', {
    config: { auth: 'service:agent_read' },
    schema: { operationId: 'getIncident', tags, summary: 'An incident', params, response: { 200: incidentView, ...problems(400, 404) } },
  }, async (req) => getIncident(db, req.params.id));

  app.patch('/v1/incidents/:id', {
    config: { auth: 'incidents:manage' },
    schema: {
      operationId: 'updateIncident', tags, summary: 'New status text, estimate, severity or areas of an incident not yet resolved (announced as outage.updated)', params,
      body: z.object({
        title: incidentBody.title, severity, services: incidentBody.services, estimatedEndAt: instant.nullable(),
        areas: z.object(areaLists).partial().strict().describe('Only the lists given are replaced'),
        statusText: statusText.describe('Merged by language: the languages given are replaced, the others kept'),
      }).partial().strict(),
      response: { 200: incidentView, ...problems(400, 404, 409, 422) },
    },
  }, async (req) => updateIncident(db, ctxOf(req), req.params.id, req.body));

  app.post('/v1/incidents/:id/resolve', {
    config: { auth: 'incidents:manage' },
    schema: { operationId: 'resolveIncident', tags, summary: 'The incident is over (announced as outage.resolved)', params, response: { 200: incidentView, ...problems(400, 404, 409) } },
  }, async (req) => db.transaction((tx) => resolveIncident(tx, ctxOf(req), req.params.id)));

  app.post('/v1/monitoring/alertmanager', {
    config: { auth: 'incidents:report' },
    bodyLimit: 1024 * 1024,
    schema: {
      operationId: 'receiveAlertmanagerWebhook', tags,
      summary: 'Prometheus Alertmanager webhook (version 4): each firing alert opens or updates an incident, each resolved one closes it, deduplicated by fingerprint. '
        + 'Labels: service, severity, cell, postcode, region (comma-separated lists); annotations: public_summary (or summary), public_description (what customers read)',
      body: z.object({
        version: z.literal('4'), status: z.enum(['firing', 'resolved']), receiver: z.string().max(200).optional(), groupKey: z.string().max(2000).optional(),
        alerts: z.array(z.object({
          status: z.enum(['firing', 'resolved']), labels: z.record(z.string(), z.string()), annotations: z.record(z.string(), z.string()).default({}),
          startsAt: z.string().max(64), endsAt: z.string().max(64).optional(), fingerprint: z.string().min(1).max(200), generatorURL: z.string().max(2000).optional(),
        })).min(1).max(500),
      }).describe('Other Alertmanager fields (groupLabels, commonLabels, externalURL ...) are accepted and not used'),
      response: { 200: z.object({ items: z.array(outcome) }), ...problems(400) },
    },
  }, async (req) => {
    const items = [];
    for (const alert of req.body.alerts) items.push(await applyAlert(db, ctxOf(req), fromAlertmanager(alert), 'alertmanager'));
    return { items };
  });

  app.post('/v1/monitoring/alerts', {
    config: { auth: 'incidents:report' },
    schema: {
      operationId: 'receiveMonitoringAlert', tags, summary: 'The plain JSON form for other monitoring tools: one alert, firing or resolved, deduplicated by its fingerprint',
      body: z.object({ fingerprint: z.string().trim().min(1).max(200), status: z.enum(['firing', 'resolved']), ...incidentBody }).strict(),
      response: { 200: outcome, ...problems(400) },
    },
  }, async (req) => {
    const { fingerprint, status, ...incident } = req.body;
    return applyAlert(db, ctxOf(req), { fingerprint: `monitoring:${fingerprint}`, status, incident }, 'monitoring');
  });

  app.get('/v1/outages', {
    // Anyone may ask (the app before login, a status page): limited per address, as login is.
    config: { auth: 'public', rateLimit: { max: 120, timeWindow: '1 minute' } },
    schema: {
      operationId: 'listOutages', tags, summary: 'Public outage status: open outages and maintenance planned within a week at a postcode, cell or region (for self-care and the app)',
      querystring: z.object({ postcode: z.string().max(40).optional(), cell: z.string().max(40).optional(), region: z.string().max(40).optional() }).strict()
        .refine((q) => q.postcode || q.cell || q.region, { message: 'name a postcode, cell or region' }),
      response: {
        200: z.object({ items: z.array(incidentView.pick({ id: true, title: true, severity: true, status: true, services: true, statusText: true, startsAt: true, estimatedEndAt: true })) }),
        ...problems(400),
      },
    },
  }, async (req) => ({ items: await outagesAt(db, req.query) }));
};
