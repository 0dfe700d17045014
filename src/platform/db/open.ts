import path from 'node:path';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import type { Config } from '../config.js';
import { connect, type Database } from './client.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';

export const EMBEDDED_DB_NAME = 'telco_crm';

async function ensureDatabase(serverUrl: string, name: string) {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
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
  const embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log });
  try {
    await ensureDatabase(embedded.url, EMBEDDED_DB_NAME);
  } catch (err) {
    await embedded.stop();
    throw err;
  }
  return { database: connect(embedded.url.replace(/\/postgres$/, `/${EMBEDDED_DB_NAME}`), config.DB_POOL_MAX), embedded };
}

/** The URL of an embedded Postgres that another process (npm start) is running, for `npm run worker`. */
export function embeddedUrl(config: Config): string {
  const password = readFileSync(path.join(path.resolve(config.DATA_DIR), 'pg-password'), 'utf8').trim();
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${config.EMBEDDED_PG_PORT}/${EMBEDDED_DB_NAME}`;
}
