import { pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

export const platform = pgSchema('platform');

/** Generated secrets for installs that did not configure them (never used when NODE_ENV=production). */
export const settings = platform.table('settings', {
  name: text().primaryKey(),
  value: text().notNull(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});
