import pino from 'pino';
import type { Runner } from 'graphile-worker';
import { buildApp, redactPaths } from './app.js';
import { ConfigError, loadConfig, type Config } from './platform/config.js';
import { migrateDatabase } from './platform/db/migrate.js';
import { openDatabase } from './platform/db/open.js';
import { startWorker } from './platform/jobs/jobs.js';
import { loadSecrets } from './platform/secrets.js';
import { ensureBootstrapAdminKey, firstStartAdminKey } from './platform/auth/service.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
const log = pino({ level: config.LOG_LEVEL, redact: { paths: redactPaths, censor: '[redacted]' } });

const { database, embedded } = await openDatabase(config, (line) => log.debug({ postgres: line }));
let stopping = false;
let runner: Runner | undefined;
let app: Awaited<ReturnType<typeof buildApp>>['app'] | undefined;

/** Stop accepting, let in-flight requests finish, stop the worker, close the pool, then Postgres. */
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    log.error('shutdown took too long; exiting');
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS);
  force.unref();
  await app?.close();
  await app?.handlersDrained(config.SHUTDOWN_TIMEOUT_MS / 2);
  await runner?.stop();
  await database.close();
  await embedded?.stop();
  log.info('stopped');
  process.exit(0);
}
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

try {
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
  await app.listen({ port: config.PORT, host: config.HOST });
  if (config.RUN_WORKER) {
    runner = await startWorker({ connectionString: database.url, jobs: built.jobs, concurrency: config.WORKER_CONCURRENCY, log });
    runner.events.on('job:failed', ({ job }) => built.metrics.jobFailed(job.task_identifier));
  }
  if (embedded) log.info({ dataDir: embedded.dataDir }, 'using embedded Postgres');
} catch (err) {
  log.error({ err }, 'start-up failed');
  await app?.close().catch(() => {});
  await database.close().catch(() => {});
  await embedded?.stop().catch(() => {});
  process.exit(1);
}
