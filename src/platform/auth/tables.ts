import { sql } from 'drizzle-orm';
import { check, index, text, timestamp, uuid, uniqueIndex } from 'drizzle-orm/pg-core';
import { platform } from '../db/tables.js';

export const staffUsers = platform.table('staff_users', {
  id: uuid().primaryKey(),
  email: text().notNull(),
  displayName: text().notNull(),
  role: text({ enum: ['admin', 'supervisor', 'csr', 'marketing'] }).notNull(),
  status: text({ enum: ['active', 'disabled'] }).notNull().default('active'),
  passwordHash: text().notNull(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('staff_users_email_key').on(sql`lower(${t.email})`),
  check('staff_users_role_check', sql`${t.role} in ('admin','supervisor','csr','marketing')`),
  check('staff_users_status_check', sql`${t.status} in ('active','disabled')`),
]);

/**
 * Bearer API keys. The secret is shown once and stored only as HMAC-SHA-256 under AUTH_SECRET:
 * keys are long and random, so a fast keyed hash is enough and keeps authentication cheap.
 */
export const apiKeys = platform.table('api_keys', {
  id: uuid().primaryKey(),
  name: text().notNull(),
  keyHash: text().notNull(),
  prefix: text().notNull(),
  principalKind: text({ enum: ['staff', 'partner', 'customer', 'integration'] }).notNull(),
  role: text({ enum: ['admin', 'supervisor', 'csr', 'marketing'] }),
  staffUserId: uuid().references(() => staffUsers.id),
  partnerId: uuid(),
  customerId: uuid(),
  capabilities: text().array().notNull().default(sql`'{}'::text[]`),
  createdBy: text(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp({ withTimezone: true }),
  lastUsedAt: timestamp({ withTimezone: true }),
  revokedAt: timestamp({ withTimezone: true }),
}, (t) => [
  uniqueIndex('api_keys_key_hash_key').on(t.keyHash),
  index('api_keys_created_at_idx').on(t.createdAt, t.id),
  check('api_keys_kind_check', sql`
    (${t.principalKind} = 'staff' and ${t.role} is not null)
    or (${t.principalKind} = 'partner' and ${t.partnerId} is not null)
    or (${t.principalKind} = 'customer' and ${t.customerId} is not null)
    or (${t.principalKind} = 'integration' and cardinality(${t.capabilities}) > 0)`),
]);
