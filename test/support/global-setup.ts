import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { adminSql, connect } from '../../src/platform/db/client.js';
import { startEmbeddedPostgres } from '../../src/platform/db/embedded.js';
import { migrateDatabase } from '../../src/platform/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string;
    templateDb: string;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    }).on('error', reject);
  });
}

const withDb = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

/** Boots one Postgres for the whole run (unless DATABASE_URL is given) and migrates a template database. */
export default async function setup(project: TestProject) {
  let serverUrl = process.env.DATABASE_URL;
  let stop = async () => {};
  if (!serverUrl) {
    const dir = mkdtempSync(path.join(tmpdir(), 'crm-test-'));
    chmodSync(dir, 0o755); // the postgres OS user must reach it when tests run as root
    // Durability is pointless for a throw-away cluster; these make the suite several times faster.
    const pg = await startEmbeddedPostgres({
      dataDir: dir, port: await freePort(),
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' },
    });
    serverUrl = pg.url;
    stop = async () => {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const templateDb = `crm_tmpl_${process.pid}`;
  const admin = adminSql(serverUrl);
  await admin.unsafe(`drop database if exists ${templateDb}`);
  await admin.unsafe(`create database ${templateDb}`);
  const template = connect(withDb(serverUrl, templateDb), 3);
  await migrateDatabase(template);
  await template.close();
  project.provide('serverUrl', serverUrl);
  project.provide('templateDb', templateDb);

  return async () => {
    // With an external server, leave nothing behind; the embedded one is deleted whole.
    const dbs = await admin`select datname from pg_database where datname like ${`crm_t%_${process.pid}%`} or datname = ${templateDb}`;
    for (const { datname } of dbs) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    await admin.end();
    await stop();
  };
}
