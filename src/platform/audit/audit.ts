import { and, desc, eq, lt, sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import type { Ctx } from '../context.js';
import { uuidv7 } from '../ids.js';
import { auditLog } from './tables.js';

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId: string;
  /** Field names and ids only: never personal data. */
  details?: Record<string, unknown>;
}

/** Appends audit rows inside the caller's transaction, so the record and the change commit together. */
export async function audit(tx: Tx, ctx: Ctx, ...entries: AuditEntry[]) {
  if (!entries.length) return;
  await auditInsert(tx, ctx, ...entries);
}

/** The INSERT itself, unexecuted: await it, or embed `.getSQL()` in a larger statement. */
export function auditInsert(tx: Tx, ctx: Ctx, ...entries: AuditEntry[]) {
  return tx.insert(auditLog).values(entries.map((e) => ({
    id: uuidv7(),
    actorKind: ctx.principal.kind,
    actorId: ctx.principal.id,
    action: e.action,
    entityType: e.entityType,
    entityId: e.entityId,
    requestId: ctx.requestId,
    details: e.details ?? {},
  })));
}

/**
 * Wraps a read so that the same statement appends its audit row when it found something (a
 * data-modifying CTE): reads of personal data stay one round trip.
 */
export function withReadAudit(ctx: Ctx, e: AuditEntry, query: SQL): SQL {
  return sql`with found as (${query}),
    audit_row as (
      insert into ${auditLog} (id, actor_kind, actor_id, action, entity_type, entity_id, request_id, details)
      select ${uuidv7()}, ${ctx.principal.kind}, ${ctx.principal.id}, ${e.action}, ${e.entityType}, ${e.entityId}, ${ctx.requestId}, ${JSON.stringify(e.details ?? {})}::jsonb
      where exists (select 1 from found))
    select * from found`;
}

export interface AuditQuery {
  entityType?: string;
  entityId?: string;
  actorId?: string;
  action?: string;
  before?: string;
  limit: number;
}

export async function listAudit(db: Tx, q: AuditQuery) {
  const where: SQL[] = [];
  if (q.entityType) where.push(eq(auditLog.entityType, q.entityType));
  if (q.entityId) where.push(eq(auditLog.entityId, q.entityId));
  if (q.actorId) where.push(eq(auditLog.actorId, q.actorId));
  if (q.action) where.push(eq(auditLog.action, q.action));
  if (q.before) where.push(lt(auditLog.id, q.before));
  return db.select().from(auditLog).where(and(...where)).orderBy(desc(auditLog.id)).limit(q.limit + 1);
}
