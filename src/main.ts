import pino from 'pino';
import { buildApp } from './app.js';
import { loadConfigOrExit } from './platform/config.js';
import type { Database } from './platform/db/client.js';
import type { EmbeddedPostgres } from './platform/db/embedded.js';
import { migrateDatabase } from './platform/db/migrate.js';
import { openDatabase } from './platform/db/open.js';
import { startOutboxRelay } from './platform/events/events.js';
import { startWorker, type Worker } from './platform/jobs/jobs.js';
import { logOptions } from './platform/log.js';
import { loadSecrets } from './platform/secrets.js';
import { ensureBootstrapAdminKey, firstStartAdminKey } from './platform/auth/service.js';

const config = loadConfigOrExit();
const log = pino(logOptions(config.LOG_LEVEL));

// What start-up has opened so far: shutdown closes exactly these, in reverse order.
let database: Database | undefined;
let embedded: EmbeddedPostgres | undefined;
let runner: Worker | undefined;
let relay: ReturnType<typeof startOutboxRelay> | undefined;
let app: Awaited<ReturnType<typeof buildApp>>['app'] | undefined;
let stopping = false;

/** Each step checks `stopping`, so a signal during start-up ends it at the next step boundary. */
async function start() {
  ({ database, embedded } = await openDatabase(config, (line) => log.debug({ postgres: line })));
  if (stopping) return;
  await migrateDatabase(database);
  const secrets = await loadSecrets(database.db, config);
  const built = await buildApp({ config, database, secrets });
  app = built.app;
  if (config.ADMIN_API_KEY) {
    await ensureBootstrapAdminKey(database.db, built.credentials, config.ADMIN_API_KEY);
  } else {
    const secret = await firstStartAdminKey(database.db, built.credentials);
    if (secret) console.log(`\nFirst start: an admin API key was created. It is shown only this once:\n\n  ${secret}\n\nUse it as "Authorization: Bearer <key>".\n`);
  }
  if (stopping) return;
  if (config.RUN_WORKER) {
    runner = await startWorker({ connectionString: database.url, jobs: built.jobs, concurrency: config.WORKER_CONCURRENCY, log });
    runner.events.on('job:failed', ({ job }) => built.metrics.jobFailed(job.task_identifier));
    relay = startOutboxRelay(database.db, built.subscribers, log);
  }
  if (stopping) return;
  await app.listen({ port: config.PORT, host: config.HOST });
  if (embedded) log.info({ dataDir: embedded.dataDir }, 'using embedded Postgres');
}

/**
 * Stop accepting, let in-flight requests finish, stop the worker, close the pool, then Postgres.
 * A step that fails is logged and the next still runs: the embedded Postgres must always stop.
 */
async function closeAll() {
  const steps: [string, (() => Promise<unknown>) | undefined][] = [
    ['http', app && (async () => {
      await app!.close();
      await app!.handlersDrained(Math.min(3000, config.SHUTDOWN_TIMEOUT_MS / 3));
    })],
    ['outbox relay', relay?.stop],
    ['worker', runner && (() => runner!.stop())],
    ['database pool', database?.close],
    ['embedded Postgres', embedded?.stop],
  ];
  for (const [name, step] of steps) {
    try {
      await step?.();
    } catch (err) {
      log.error({ err, step: name }, 'shutdown step failed');
    }
  }
}

const starting = start();

async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    log.error('shutdown took too long; exiting');
    // Still stop the detached Postgres, briefly, rather than leave it behind.
    void Promise.race([embedded?.stop(), new Promise((r) => setTimeout(r, 1500))]).finally(() => process.exit(1));
  }, config.SHUTDOWN_TIMEOUT_MS);
  force.unref();
  await starting.catch(() => {}); // a failed start cleans up after itself
  await closeAll();
  log.info('stopped');
  process.exit(0);
}
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
// When Postgres stops it ends the connections still open (57P01), and a pool client the worker has
// let go of may raise that with nobody listening. During our own shutdown that is expected, not a
// crash; anything else uncaught still ends the process with code 1, as Node would.
process.on('uncaughtException', (err) => {
  if (stopping && (err as { code?: string }).code === '57P01') {
    log.warn({ err }, 'a connection was ended by Postgres during shutdown');
    return;
  }
  log.fatal({ err }, 'uncaught exception');
  process.exit(1);
});
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

try {
  await starting;
} catch (err) {
  // A signal during start-up makes later steps fail; then shutdown owns the exit.
  if (!stopping) {
    log.error({ err }, 'start-up failed');
    await closeAll().catch(() => {});
    process.exit(1);
  }
}
