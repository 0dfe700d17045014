import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { Logger, runMigrations } from 'graphile-worker';
import type { Database } from './client.js';
import { ensurePartitions } from './partitions.js';

const silentLogger = new Logger(() => () => {});

export const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');

/** Applies our migrations and graphile-worker's own schema; safe to run from several processes. */
export async function migrateDatabase(database: Database) {
  // One instance migrates at a time; the others wait and then find nothing to do.
  await database.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(727001)`;
    await runMigrations({ connectionString: database.url, logger: silentLogger });
    await migrate(database.db, { migrationsFolder });
    // A server that was down over a month boundary starts with that month's partitions in place.
    await ensurePartitions(database.db);
  });
}
