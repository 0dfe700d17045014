import pino from 'pino';
import { buildApp } from './app.js';
import { loadConfigOrExit } from './platform/config.js';
import { connect } from './platform/db/client.js';
import { runningEmbeddedUrl } from './platform/db/open.js';
import { startOutboxRelay } from './platform/events/events.js';
import { startWorker } from './platform/jobs/jobs.js';
import { logOptions } from './platform/log.js';
import { loadSecrets } from './platform/secrets.js';

// A worker-only process: scale jobs apart from the API. Without DATABASE_URL it joins the
// embedded Postgres that `npm start` runs under DATA_DIR.
const config = loadConfigOrExit();
const log = pino(logOptions(config.LOG_LEVEL));
const database = connect(config.DATABASE_URL ?? runningEmbeddedUrl(config), config.DB_POOL_MAX);
const secrets = await loadSecrets(database.db, config);
const { jobs, subscribers, metrics } = await buildApp({ config, database, secrets });
const runner = await startWorker({ connectionString: database.url, jobs, concurrency: config.WORKER_CONCURRENCY, log });
runner.events.on('job:failed', ({ job }) => metrics.jobFailed(job.task_identifier));
const relay = startOutboxRelay(database.db, subscribers, log);
log.info('worker started');

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'worker stopping');
  setTimeout(() => process.exit(1), config.SHUTDOWN_TIMEOUT_MS).unref();
  await relay.stop();
  await runner.stop();
  await database.close();
  log.info('worker stopped');
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
