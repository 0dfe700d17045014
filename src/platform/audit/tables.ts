import { index, jsonb, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { platform } from '../db/tables.js';

/**
 * Append-only (a trigger refuses UPDATE and DELETE). Details never carry personal data, only
 * field names and ids, so erasing a customer never needs to touch this table. Partitioned by month
 * of `at` (migration 0007; platform/db/partitions.ts keeps months ahead created).
 */
export const auditLog = platform.table('audit_log', {
  id: uuid().notNull(),
  at: timestamp({ withTimezone: true }).notNull().defaultNow(),
  actorKind: text().notNull(),
  actorId: text().notNull(),
  action: text().notNull(),
  entityType: text().notNull(),
  entityId: text().notNull(),
  requestId: text(),
  details: jsonb().$type<Record<string, unknown>>().notNull().default({}),
}, (t) => [
  primaryKey({ columns: [t.id, t.at] }),
  index('audit_log_entity_idx').on(t.entityType, t.entityId, t.id),
  index('audit_log_actor_idx').on(t.actorId, t.id),
]);
