import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Sql } from '../db/client.js';
import { migrationsFolder } from '../db/migrate.js';
import { httpErrors, problems } from './errors.js';

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
  }, async () => {
    const rows = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`.catch(() => {
      throw httpErrors.database_unavailable();
    });
    const applied = Number(rows[0]?.n ?? 0);
    if (applied < expectedMigrations) throw httpErrors.migrations_pending(`${applied} of ${expectedMigrations} migrations applied`);
    return { status: 'ready' as const, migrations: applied };
  });
};
