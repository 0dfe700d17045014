import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Sql } from './db/client.js';
import { httpErrors, sendProblem } from './http/errors.js';
import { createHash, timingSafeEqual } from 'node:crypto';

/** Prometheus metrics; one registry per app so several apps can live in one test process. */
export function createMetrics(sql: Sql, token?: string) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labels = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests', labelNames: labels, registers: [registry] });
  const latency = new Histogram({
    name: 'http_request_duration_seconds', help: 'HTTP request latency', labelNames: labels, registers: [registry],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  const jobFailures = new Counter({ name: 'jobs_failed_attempts_total', help: 'Job attempts that threw', labelNames: ['task'], registers: [registry] });

  // Queue and pool figures are read from Postgres at scrape time: they are shared by all instances.
  new Gauge({
    name: 'jobs_queue_depth', help: 'Jobs by state', labelNames: ['state'], registers: [registry],
    async collect() {
      const [r] = await sql`select
          count(*) filter (where locked_at is null and attempts < max_attempts and run_at <= now())::int as ready,
          count(*) filter (where locked_at is not null)::int as running,
          count(*) filter (where attempts >= max_attempts)::int as failed,
          count(*) filter (where run_at > now() and attempts < max_attempts)::int as scheduled
        from graphile_worker.jobs`;
      for (const state of ['ready', 'running', 'failed', 'scheduled']) this.set({ state }, Number(r?.[state] ?? 0));
    },
  });
  new Gauge({
    name: 'outbox_lag_seconds', help: 'Age of the oldest domain event not yet delivered to its subscribers', registers: [registry],
    async collect() {
      const [r] = await sql`select coalesce(extract(epoch from now() - least(
          (select min(occurred_at) from platform.events where dispatched_at is null),
          (select min(created_at) from graphile_worker.jobs where task_identifier like 'platform.deliver_event%'))), 0)::float8 as lag`;
      this.set(Number(r?.lag ?? 0));
    },
  });
  new Gauge({
    name: 'db_connections', help: 'Database connections of this application by state', labelNames: ['state'], registers: [registry],
    async collect() {
      this.reset();
      const rows = await sql`select coalesce(state, 'unknown') as state, count(*)::int as n from pg_stat_activity
        where application_name = 'telco-crm' and datname = current_database() group by 1`;
      for (const r of rows) this.set({ state: r.state as string }, r.n as number);
    },
  });

  const plugin = fp(async (app: FastifyInstance) => {
    app.addHook('onResponse', async (req, reply) => {
      const l = { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) };
      requests.inc(l);
      latency.observe(l, reply.elapsedTime / 1000);
    });
    // Scrapers are not principals: an optional shared token instead of an API key.
    const expected = token ? createHash('sha256').update(`Bearer ${token}`).digest() : undefined;
    app.get('/metrics', { config: { auth: 'public' }, schema: { hide: true } }, async (req, reply) => {
      if (expected) {
        const given = createHash('sha256').update(req.headers.authorization ?? '').digest();
        if (!timingSafeEqual(given, expected)) return sendProblem(reply.header('www-authenticate', 'Bearer'), httpErrors.unauthenticated('Send "Authorization: Bearer <METRICS_TOKEN>"'));
      }
      reply.type(registry.contentType);
      return registry.metrics();
    });
  }, { name: 'platform-metrics' });

  return { registry, plugin, jobFailed: (task: string) => jobFailures.inc({ task }) };
}
