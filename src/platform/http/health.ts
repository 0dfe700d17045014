import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Sql } from '../db/client.js';
import { migrationsFolder } from '../db/migrate.js';
import { problem, problems } from './errors.js';

const journal = JSON.parse(readFileSync(path.join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
const expectedMigrations = journal.entries.length;

export const healthRoutes: FastifyPluginAsyncZod<{ sql: Sql }> = async (app, { sql }) => {
  app.get('/healthz', {
    config: { auth: 'public' },
    schema: { operationId: 'health', tags: ['operations'], summary: 'The process is alive', response: { 200: z.object({ status: z.literal('ok') }), ...problems(429) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    config: { auth: 'public' },
    schema: {
      operationId: 'ready', tags: ['operations'], summary: 'The database answers and every migration is applied',
      response: { 200: z.object({ status: z.literal('ready'), migrations: z.number().int() }), ...problems(429, 503) },
    },
  }, async (_req, reply) => {
    try {
      const [row] = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
      const applied = Number(row?.n ?? 0);
      if (applied < expectedMigrations) {
        return reply.status(503).type('application/problem+json').send(problem(503, 'migrations_pending', `${applied} of ${expectedMigrations} migrations applied`));
      }
      return { status: 'ready' as const, migrations: applied };
    } catch {
      return reply.status(503).type('application/problem+json').send(problem(503, 'database_unavailable', 'The database does not answer'));
    }
  });
};
