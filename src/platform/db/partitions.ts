import { sql } from 'drizzle-orm';
import type { Db } from './client.js';
import type { JobsSetup } from '../jobs/jobs.js';

/** Tables partitioned by month (migrations 0007, 0018). */
export const monthlyPartitioned = ['platform.audit_log', 'platform.events', 'billing.usage_records'];

/** Creates this month's neighbours ahead of time; each call is idempotent. */
export async function ensurePartitions(db: Db, tables = monthlyPartitioned) {
  for (const table of tables) await db.execute(sql`select platform.ensure_monthly_partitions(${table}::regclass)`);
}

export const partitionJobs = (db: Db): Partial<JobsSetup> => ({
  tasks: { 'platform.ensure_partitions': () => ensurePartitions(db) },
  cron: [{ pattern: '7 3 * * *', task: 'platform.ensure_partitions' }],
});
