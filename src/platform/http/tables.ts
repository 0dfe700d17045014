import { sql } from 'drizzle-orm';
import { index, integer, jsonb, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { platform } from '../db/tables.js';

export const idempotencyKeys = platform.table('idempotency_keys', {
  principal: text().notNull(),
  key: text().notNull(),
  requestHash: text().notNull(),
  state: text({ enum: ['in_flight', 'done'] }).notNull(),
  responseStatus: integer(),
  /** The first response, sealed with the field-encryption key: it may carry personal data. */
  responseSealed: text(),
  responseHeaders: jsonb().$type<Record<string, string>>(),
  /** The `id` of the resource the response describes, so erasure can blank the stored copy. */
  resourceId: text(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  primaryKey({ columns: [t.principal, t.key] }),
  index('idempotency_keys_created_at_idx').on(t.createdAt),
  // Only responses that name a resource are looked up by it (erasure); most name none.
  index('idempotency_keys_resource_idx').on(t.resourceId).where(sql`resource_id is not null`),
]);
