import { randomBytes } from 'node:crypto';
import supertest from 'supertest';
import { runOnce } from 'graphile-worker';
import { inject } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/platform/config.js';
import { adminSql, connect, type Database } from '../../src/platform/db/client.js';
import { ensureBootstrapAdminKey } from '../../src/platform/auth/service.js';
import { loadSecrets } from '../../src/platform/secrets.js';
import { workerLogger } from '../../src/platform/jobs/jobs.js';
import { relayOutbox } from '../../src/platform/events/events.js';
import pino from 'pino';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdefghij';

const dbUrl = (name: string) => {
  const u = new URL(inject('serverUrl'));
  u.pathname = `/${name}`;
  return u.toString();
};

/** A fresh database cloned from the migrated template: a test file's own world. */
export async function freshDatabase(): Promise<string> {
  const template = inject('templateDb');
  const name = `crm_t_${template.split('_').pop()}_${randomBytes(5).toString('hex')}`;
  const admin = adminSql(inject('serverUrl'));
  try {
    await admin.unsafe(`create database ${name} template ${template}`);
  } finally {
    await admin.end();
  }
  return dbUrl(name);
}

export interface TestApp {
  http: supertest.Agent;
  database: Database;
  app: Awaited<ReturnType<typeof buildApp>>;
  /** Relays the outbox and runs every job that is due, as a worker would, then returns. */
  runJobs(): Promise<void>;
  /** The two halves of runJobs: the outbox to the subscribers, then one worker's run over the due jobs (two apps on one database: two workers). */
  relayEvents(): Promise<void>;
  runWorker(): Promise<void>;
  close(): Promise<void>;
}

/** A test's app; on `url`, a second app (another worker) on the same database. */
export async function testApp(opts: { url?: string; env?: Record<string, string> } = {}): Promise<TestApp> {
  const url = opts.url ?? (await freshDatabase());
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: url, RATE_LIMIT_MAX: '0', ...opts.env });
  const database = connect(url, 5);
  const secrets = await loadSecrets(database.db, config);
  const app = await buildApp({ config, database, secrets });
  await ensureBootstrapAdminKey(database.db, app.credentials, ADMIN_KEY);
  await app.app.ready();
  const logger = workerLogger(pino({ level: 'silent' }));
  // Until a pass finds nothing: one that finds another instance's pass running waits for it.
  const relayEvents = async () => {
    for (let pass = await relayOutbox(database.db, app.subscribers); pass !== 0; pass = await relayOutbox(database.db, app.subscribers)) {
      if (pass === 'busy') await new Promise((r) => setTimeout(r, 10));
    }
  };
  const runWorker = () => runOnce({ connectionString: url, taskList: app.jobs.tasks, logger });
  return {
    app,
    database,
    http: supertest.agent(app.app.server).set('authorization', `Bearer ${ADMIN_KEY}`),
    async runJobs() {
      await relayEvents();
      await runWorker();
    },
    relayEvents,
    runWorker,
    async close() {
      await app.app.close();
      await database.close();
    },
  };
}

/** Apps on one fresh database, each with its own environment: as many workers of one deployment. */
export async function testWorkers(...envs: Record<string, string>[]): Promise<TestApp[]> {
  const url = await freshDatabase();
  const apps: TestApp[] = [];
  for (const env of envs) apps.push(await testApp({ url, env }));
  return apps;
}

/** Closes apps and local servers, in order. */
export async function closeAll(...things: { close(): Promise<void> }[]) {
  for (const thing of things) await thing.close();
}

/** Makes an API key for a principal and returns its bearer header. */
export async function keyFor(t: TestApp, body: Record<string, unknown>): Promise<string> {
  const res = await t.http.post('/v1/api-keys').send({ name: 'test', ...body }).expect(201);
  return `Bearer ${res.body.secret as string}`;
}

export const anon = (t: TestApp) => supertest(t.app.app.server);

/** Requests made as a given bearer header (supertest agents share cookies, not this header). */
export const asCaller = (t: TestApp, auth: string) => ({
  get: (url: string) => anon(t).get(url).set('authorization', auth),
  post: (url: string) => anon(t).post(url).set('authorization', auth),
  put: (url: string) => anon(t).put(url).set('authorization', auth),
  patch: (url: string) => anon(t).patch(url).set('authorization', auth),
  delete: (url: string) => anon(t).delete(url).set('authorization', auth),
});
