import { isDeepStrictEqual } from 'node:util';
import { and, desc, eq, inArray, lt, lte, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { serviceErrors } from './errors.js';
import { announceResolved, refreshAffected, tellAffected } from './incident-customers.js';
import { type AlertSays, incidents, type ServiceType, serviceTypes } from './tables.js';
import { inRange } from '../../platform/http/instant.js';

type Incident = typeof incidents.$inferSelect;
export type Areas = Incident['areas'];
export interface IncidentInput {
  title: string; severity: Incident['severity']; services: ServiceType[]; areas: Areas; statusText: Record<string, string>;
  startsAt?: Date; estimatedEndAt?: Date | null;
}

/**
 * What every outage event says: enough for messaging to tell the customers of those areas. They
 * follow in outage.customers_affected events: all of them when it opens, is planned or is resolved;
 * on an update, those its new areas add.
 */
async function announce(tx: Tx, type: string, i: Incident) {
  const affected = i.status === 'resolved' ? undefined : await refreshAffected(tx, i);
  await emit(tx, type, {
    incidentId: i.id, title: i.title, severity: i.severity, status: i.status, services: i.services, areas: i.areas, statusText: i.statusText,
    startsAt: i.startsAt, estimatedEndAt: i.estimatedEndAt, endedAt: i.endedAt, ...(affected ? { affectedCustomers: affected.all.length } : {}),
  }, { aggregateId: i.id });
  if (affected) await tellAffected(tx, i, type === 'outage.updated' ? affected.added : affected.all, 'affected');
  else await announceResolved(tx, i);
}

/** An incident by hand or from a tool: open now, or planned maintenance (scheduled, announced ahead). */
export async function reportIncident(db: Db, ctx: Ctx, input: IncidentInput, source: Incident['source'] = 'staff', fingerprint: string | null = null) {
  return db.transaction(async (tx) => {
    const startsAt = input.startsAt ?? new Date();
    const [row] = await tx.insert(incidents).values({
      ...input, id: uuidv7(), startsAt, estimatedEndAt: input.estimatedEndAt ?? null, status: startsAt > new Date() ? 'scheduled' : 'open', source, fingerprint, createdBy: actorOf(ctx),
    }).returning();
    await announce(tx, row!.status === 'scheduled' ? 'outage.scheduled' : 'outage.opened', row!);
    await audit(tx, ctx, { action: 'incident.reported', entityType: 'incident', entityId: row!.id, details: { title: input.title, source } });
    return row!;
  });
}

export async function getIncident(db: Tx, id: string) {
  const [row] = await db.select().from(incidents).where(eq(incidents.id, id));
  if (!row) throw serviceErrors.incident_not_found();
  return row;
}

export async function listIncidents(db: Db, q: { status?: Incident['status']; limit: number; before?: string }) {
  return db.select().from(incidents).where(and(q.status ? eq(incidents.status, q.status) : undefined, q.before ? lt(incidents.id, q.before) : undefined))
    .orderBy(desc(incidents.id)).limit(q.limit + 1);
}

/** New status text, estimate, severity or areas for an incident still open or scheduled. */
export async function updateIncident(db: Db, ctx: Ctx, id: string, patch: Partial<Omit<IncidentInput, 'startsAt' | 'areas'>> & { areas?: Partial<Areas> }) {
  return db.transaction(async (tx) => {
    // A merge patch: the languages and area lists given replace theirs, the rest is kept.
    const { areas, statusText, ...rest } = patch;
    if (patch.estimatedEndAt) {
      const [known] = await tx.select({ startsAt: incidents.startsAt }).from(incidents).where(eq(incidents.id, id)).for('update');
      if (known && patch.estimatedEndAt <= known.startsAt) throw serviceErrors.incident_end_before_start();
    }
    const [row] = await tx.update(incidents).set({
      ...rest, updatedAt: sql`now()`,
      ...(areas ? { areas: sql`${incidents.areas} || ${JSON.stringify(areas)}::jsonb` } : {}),
      ...(statusText ? { statusText: sql`${incidents.statusText} || ${JSON.stringify(statusText)}::jsonb` } : {}),
    }).where(and(eq(incidents.id, id), inArray(incidents.status, ['open', 'scheduled']))).returning();
    if (!row) throw (await getIncident(tx, id), serviceErrors.incident_resolved());
    await announce(tx, 'outage.updated', row);
    await audit(tx, ctx, { action: 'incident.updated', entityType: 'incident', entityId: id, details: { fields: Object.keys(patch) } });
    return row;
  });
}

export async function resolveIncident(db: Tx, ctx: Ctx, id: string, endedAt = new Date()) {
  const [row] = await db.update(incidents).set({ status: 'resolved', endedAt, updatedAt: sql`now()` })
    .where(and(eq(incidents.id, id), inArray(incidents.status, ['open', 'scheduled']))).returning();
  if (!row) throw (await getIncident(db, id), serviceErrors.incident_resolved());
  await announce(db, 'outage.resolved', row);
  await audit(db, ctx, { action: 'incident.resolved', entityType: 'incident', entityId: id });
  return row;
}

export interface ToolAlert { fingerprint: string; status: 'firing' | 'resolved'; incident: IncidentInput; endedAt?: Date }

/**
 * An alert from monitoring, deduplicated by its fingerprint: firing opens the incident (or updates
 * it, or opens it again), resolved closes it. Returns what happened, per alert.
 */
export async function applyAlert(db: Db, ctx: Ctx, a: ToolAlert, source: Incident['source']) {
  return db.transaction(async (tx) => {
    // Two notifications of one new alert at once (an Alertmanager pair) must not both insert: one waits here.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`incident:${a.fingerprint}`}))`);
    const [known] = await tx.select().from(incidents).where(eq(incidents.fingerprint, a.fingerprint)).for('update');
    if (a.status === 'resolved') {
      if (!known || known.status === 'resolved') return { fingerprint: a.fingerprint, outcome: 'ignored' as const, incidentId: known?.id ?? null };
      await resolveIncident(tx, ctx, known.id, a.endedAt && a.endedAt > known.startsAt ? a.endedAt : new Date());
      return { fingerprint: a.fingerprint, outcome: 'resolved' as const, incidentId: known.id };
    }
    const said = { title: a.incident.title, severity: a.incident.severity, services: a.incident.services, areas: a.incident.areas, statusText: a.incident.statusText };
    if (!known) {
      const startsAt = a.incident.startsAt && a.incident.startsAt <= new Date() ? a.incident.startsAt : new Date();
      const [row] = await tx.insert(incidents).values({
        ...said, startsAt, estimatedEndAt: null, id: uuidv7(), status: 'open', source, fingerprint: a.fingerprint, alert: said, createdBy: actorOf(ctx),
      }).returning();
      await announce(tx, 'outage.opened', row!);
      return { fingerprint: a.fingerprint, outcome: 'opened' as const, incidentId: row!.id };
    }
    const reopened = known.status === 'resolved';
    // Alertmanager repeats a firing alert every repeat_interval: only what the alert itself changed is news.
    const changed = alertChanges(known.alert, said);
    if (!reopened && !Object.keys(changed).length) return { fingerprint: a.fingerprint, outcome: 'unchanged' as const, incidentId: known.id };
    const [row] = await tx.update(incidents).set({
      ...changed, ...(changed.statusText ? { statusText: { ...known.statusText, ...changed.statusText } } : {}), alert: said,
      ...(reopened ? { status: 'open' as const, endedAt: null, startsAt: new Date() } : {}), updatedAt: sql`now()`,
    }).where(eq(incidents.id, known.id)).returning();
    await announce(tx, reopened ? 'outage.opened' : 'outage.updated', row!);
    return { fingerprint: a.fingerprint, outcome: reopened ? 'reopened' as const : 'updated' as const, incidentId: known.id };
  });
}

/** The fields an alert says differently from last time (all of them when nothing was kept). */
function alertChanges(last: AlertSays | null, now: AlertSays): Partial<AlertSays> {
  // jsonb keeps its own key order: a deep comparison, which ignores it.
  const keys = Object.keys(now) as (keyof typeof now)[];
  return Object.fromEntries(keys.filter((k) => !last || !isDeepStrictEqual(last[k], now[k])).map((k) => [k, now[k]]));
}

const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
const severityOf = (s: string | undefined): Incident['severity'] => (s === 'critical' ? 'critical' : s === 'major' || s === 'error' ? 'major' : 'minor');

/**
 * An Alertmanager (webhook version 4) alert as an incident: labels `service` (one of the service
 * types, comma-separated for several; default internet), `severity`, `cell`, `postcode`, `region`
 * (comma-separated lists); annotations `public_summary` (or `summary`: the title) and
 * `public_description` (the English status text customers read).
 */
export function fromAlertmanager(alert: { status: 'firing' | 'resolved'; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt?: string; fingerprint: string }): ToolAlert {
  const services = list(alert.labels.service).filter((s): s is ServiceType => (serviceTypes as readonly string[]).includes(s));
  const started = new Date(alert.startsAt);
  const ended = alert.endsAt ? new Date(alert.endsAt) : undefined;
  return {
    // Alertmanager says "not ended" with year 1; any time outside the years we keep is taken as not said.
    fingerprint: `alertmanager:${alert.fingerprint}`, status: alert.status, endedAt: ended && inRange(ended) ? ended : undefined,
    incident: {
      // What customers read must be written for them: `public_description` only (a `description` often names hosts and runbooks).
      title: (alert.annotations.public_summary ?? alert.annotations.summary ?? alert.labels.alertname ?? 'Network alert').slice(0, 200), severity: severityOf(alert.labels.severity),
      services: services.length ? services : ['internet'], areas: { cells: list(alert.labels.cell), postcodes: list(alert.labels.postcode), regions: list(alert.labels.region) },
      statusText: alert.annotations.public_description ? { en: alert.annotations.public_description.slice(0, 2000) } : {}, startsAt: inRange(started) ? started : undefined,
    },
  };
}

/** Public: the outages (open, or planned in the next week) touching a postcode, cell or region. */
export async function outagesAt(db: Db, where: { postcode?: string; cell?: string; region?: string }) {
  const touching = [
    where.postcode ? sql`${incidents.areas}->'postcodes' ? ${where.postcode}` : undefined,
    where.cell ? sql`${incidents.areas}->'cells' ? ${where.cell}` : undefined,
    where.region ? sql`${incidents.areas}->'regions' ? ${where.region}` : undefined,
  ].filter(Boolean);
  return db.select().from(incidents).where(and(
    inArray(incidents.status, ['open', 'scheduled']), lte(incidents.startsAt, sql`now() + interval '7 days'`),
    touching.length ? sql`(${sql.join(touching as ReturnType<typeof sql>[], sql` or `)})` : undefined,
  )).orderBy(incidents.startsAt).limit(100);
}

/** Scheduled: planned maintenance whose time has come is open (and announced so). */
export async function startScheduled(db: Db) {
  await db.transaction(async (tx) => {
    const started = await tx.update(incidents).set({ status: 'open', updatedAt: sql`now()` })
      .where(and(eq(incidents.status, 'scheduled'), lte(incidents.startsAt, sql`now()`))).returning();
    for (const i of started) await announce(tx, 'outage.opened', i);
  });
}
