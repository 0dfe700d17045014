import { sql } from 'drizzle-orm';
import { parseCronItems, run, type Runner, type TaskList, Logger } from 'graphile-worker';
import pg from 'pg';
import type { Logger as Pino } from 'pino';
import type { Tx } from '../db/client.js';

export interface EnqueueOptions {
  /** Replaces a not-yet-started job with the same key: a natural dedupe for "do this once". */
  jobKey?: string;
  runAt?: Date;
  maxAttempts?: number;
  queueName?: string;
}

/**
 * Adds a graphile-worker job through the caller's transaction: rolled back, the job never
 * existed; committed, it will run.
 */
export async function enqueue(tx: Tx, task: string, payload: Record<string, unknown>, opts: EnqueueOptions = {}) {
  await tx.execute(sql`select graphile_worker.add_job(
    ${task}::text, ${JSON.stringify(payload)}::json,
    queue_name => ${opts.queueName ?? null}::text,
    run_at => ${opts.runAt?.toISOString() ?? null}::timestamptz,
    max_attempts => ${opts.maxAttempts ?? 10}::int,
    job_key => ${opts.jobKey ?? null}::text)`);
}

/** A periodic task: `pattern` is a crontab time spec in UTC, e.g. '0 * * * *'. */
export interface CronEntry { pattern: string; task: string }

export interface JobsSetup { tasks: TaskList; cron: CronEntry[] }

export function mergeJobs(...parts: Partial<JobsSetup>[]): JobsSetup {
  return { tasks: Object.assign({}, ...parts.map((p) => p.tasks ?? {})), cron: parts.flatMap((p) => p.cron ?? []) };
}

export function workerLogger(log: Pino) {
  return new Logger(() => (level, message, meta) => {
    const method = level === 'error' ? 'error' : level === 'warning' ? 'warn' : 'debug';
    log[method]({ worker: meta }, message);
  });
}

/** The job worker. `stop` ends when its connections are closed: Postgres may be stopped next. */
export interface Worker { events: Runner['events']; stop(): Promise<void> }

export async function startWorker(opts: { connectionString: string; jobs: JobsSetup; concurrency: number; log: Pino }): Promise<Worker> {
  // Ours, not the runner's: a runner ends the pool it made without waiting for its connections to
  // close, and a Postgres stopped right after would end them with an error in the log.
  const pool = new pg.Pool({ connectionString: opts.connectionString, max: Math.max(10, opts.concurrency + 2) });
  // Logged, not thrown: pg drops a failed idle connection itself, and fails a checked-out one's next query.
  pool.on('error', (err) => opts.log.error({ err }, 'an idle job worker connection failed'));
  pool.on('connect', (client) => client.on('error', (err) => opts.log.error({ err }, 'a job worker connection failed')));
  const runner = await run({
    pgPool: pool,
    concurrency: opts.concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    taskList: opts.jobs.tasks,
    parsedCronItems: parseCronItems(opts.jobs.cron.map((c) => ({ task: c.task, match: c.pattern, identifier: c.task }))),
    logger: workerLogger(opts.log),
  }).catch(async (err: unknown) => {
    await pool.end();
    throw err;
  });
  return {
    events: runner.events,
    async stop() {
      try {
        await runner.stop();
      } finally {
        await pool.end();
      }
    },
  };
}

