import type { Config } from '../config.js';
import { adminSql, connect, type Database } from './client.js';
import { embeddedUrl, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';

export const EMBEDDED_DB_NAME = 'telco_crm';

/**
 * The embedded server's settings, where Postgres's defaults are made for a small machine on a
 * spinning disk: a cache for the working set, checkpoints far enough apart that a busy hour does
 * not write every page twice, and the cost of a random read on an SSD with the data in memory
 * (with the default, the planner reads all 300,000 allowance buckets to update 5,000 of them).
 * A server named by DATABASE_URL is tuned by its own administrator.
 */
const EMBEDDED_SETTINGS = { shared_buffers: '512MB', max_wal_size: '4GB', checkpoint_timeout: '15min', random_page_cost: '1.1', effective_cache_size: '4GB' };

async function ensureDatabase(serverUrl: string, name: string) {
  const admin = adminSql(serverUrl);
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
    if (!exists) await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
}

/** DATABASE_URL when given; otherwise the embedded Postgres under DATA_DIR, started on demand. */
export async function openDatabase(config: Config, log: (line: string) => void): Promise<{ database: Database; embedded?: EmbeddedPostgres }> {
  if (config.DATABASE_URL) return { database: connect(config.DATABASE_URL, config.DB_POOL_MAX) };
  const embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log, settings: EMBEDDED_SETTINGS });
  try {
    await ensureDatabase(embedded.url, EMBEDDED_DB_NAME);
  } catch (err) {
    await embedded.stop();
    throw err;
  }
  return { database: connect(embeddedUrl(config.DATA_DIR, config.EMBEDDED_PG_PORT, EMBEDDED_DB_NAME), config.DB_POOL_MAX), embedded };
}

/** The embedded Postgres that another process (npm start) runs under DATA_DIR, for `npm run worker`. */
export const runningEmbeddedUrl = (config: Config) => embeddedUrl(config.DATA_DIR, config.EMBEDDED_PG_PORT, EMBEDDED_DB_NAME);
