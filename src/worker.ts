import pino from 'pino';
import { buildApp } from './app.js';
import { loadConfig } from './platform/config.js';
import { connect } from './platform/db/client.js';
import { runningEmbeddedUrl } from './platform/db/open.js';
import { startOutboxRelay } from './platform/events/events.js';
import { startWorker } from './platform/jobs/jobs.js';
import { logOptions } from './platform/log.js';
import { loadSecrets } from './platform/secrets.js';

// A worker-only process: scale jobs apart from the API. Without DATABASE_URL it joins the
// embedded Postgres that `npm start` runs under DATA_DIR.
const config = loadConfig();
const log = pino(logOptions(config.LOG_LEVEL));
const database = connect(config.DATABASE_URL ?? runningEmbeddedUrl(config), config.DB_POOL_MAX);
const secrets = await loadSecrets(database.db, config);
const { jobs, subscribers } = await buildApp({ config, database, secrets });
const runner = await startWorker({ connectionString: database.url, jobs, concurrency: config.WORKER_CONCURRENCY, log });
const relay = startOutboxRelay(database.db, subscribers, log);
log.info('worker started');
const stop = async () => {
  await relay.stop();
  await runner.stop();
  await database.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
