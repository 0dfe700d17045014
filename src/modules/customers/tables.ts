import { sql } from 'drizzle-orm';
import { boolean, check, date, index, integer, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const customersSchema = pgSchema('customers');

const ts = () => timestamp({ withTimezone: true }).notNull().defaultNow();

export const customers = customersSchema.table('customers', {
  id: uuid().primaryKey(),
  type: text({ enum: ['individual', 'business'] }).notNull(),
  segment: text({ enum: ['consumer', 'vip', 'enterprise'] }).notNull().default('consumer'),
  status: text({ enum: ['active', 'suspended', 'closed', 'erased'] }).notNull().default('active'),
  givenName: text(),
  familyName: text(),
  companyName: text(),
  preferredLanguage: text().notNull().default('en'),
  timeZone: text().notNull().default('UTC'),
  /** AES-256-GCM sealed ISO date (platform/crypto). */
  dateOfBirthEnc: text(),
  /** The partner or reseller that acquired the customer: partner users see only these. */
  partnerId: uuid(),
  nameSearch: text().generatedAlwaysAs(sql`lower(coalesce(given_name, '') || ' ' || coalesce(family_name, '') || ' ' || coalesce(company_name, ''))`),
  createdAt: ts(),
  updatedAt: ts(),
  erasedAt: timestamp({ withTimezone: true }),
}, (t) => [
  check('customers_type_check', sql`${t.type} in ('individual', 'business')`),
  check('customers_segment_check', sql`${t.segment} in ('consumer', 'vip', 'enterprise')`),
  check('customers_status_check', sql`${t.status} in ('active', 'suspended', 'closed', 'erased')`),
  index('customers_partner_idx').on(t.partnerId, t.id),
  index('customers_name_search_idx').using('gin', sql`${t.nameSearch} gin_trgm_ops`),
]);

export const contactPoints = customersSchema.table('contact_points', {
  id: uuid().primaryKey(),
  customerId: uuid().notNull().references(() => customers.id, { onDelete: 'cascade' }),
  kind: text({ enum: ['phone', 'email'] }).notNull(),
  /** Phones in E.164, emails lower-cased: what search compares against. */
  value: text().notNull(),
  isPrimary: boolean().notNull().default(false),
  createdAt: ts(),
  /** Mail to it bounced for good (the provider said so): messaging passes it over until it is replaced. */
  undeliverableSince: timestamp({ withTimezone: true }),
  undeliverableReason: text(),
}, (t) => [
  check('contact_points_kind_check', sql`${t.kind} in ('phone', 'email')`),
  index('contact_points_value_idx').on(t.kind, t.value),
  index('contact_points_customer_idx').on(t.customerId),
  uniqueIndex('contact_points_one_primary_key').on(t.customerId, t.kind).where(sql`is_primary`),
]);

export const addresses = customersSchema.table('addresses', {
  id: uuid().primaryKey(),
  customerId: uuid().notNull().references(() => customers.id, { onDelete: 'cascade' }),
  kind: text({ enum: ['home', 'billing', 'installation', 'shipping'] }).notNull(),
  line1: text().notNull(),
  line2: text(),
  city: text().notNull(),
  postcode: text(),
  region: text(),
  country: text().notNull(),
  createdAt: ts(),
}, (t) => [
  index('addresses_customer_idx').on(t.customerId),
  // Outages are announced by postcode and region, matched without regard to case.
  index('addresses_postcode_idx').on(sql`lower(${t.postcode})`).where(sql`postcode is not null`),
  index('addresses_region_idx').on(sql`lower(${t.region})`).where(sql`region is not null`),
  check('addresses_country_check', sql`${t.country} ~ '^[A-Z]{2}$'`)]);

export const identityDocuments = customersSchema.table('identity_documents', {
  id: uuid().primaryKey(),
  customerId: uuid().notNull().references(() => customers.id, { onDelete: 'cascade' }),
  kind: text({ enum: ['national_id', 'passport', 'driving_licence', 'residence_permit', 'company_registration'] }).notNull(),
  numberEnc: text().notNull(),
  /** Keyed hash of the normalised number: lets search find it without decrypting. */
  numberHash: text().notNull(),
  numberLast4: text().notNull(),
  issuingCountry: text().notNull(),
  expiresOn: date(),
  createdAt: ts(),
}, (t) => [index('identity_documents_hash_idx').on(t.numberHash), index('identity_documents_customer_idx').on(t.customerId)]);

/** Current marketing consent per channel; there is no voice channel: telemarketing is out of scope. */
export const consents = customersSchema.table('consents', {
  customerId: uuid().notNull().references(() => customers.id, { onDelete: 'cascade' }),
  channel: text({ enum: ['sms', 'email', 'push'] }).notNull(),
  granted: boolean().notNull(),
  source: text().notNull(),
  recordedAt: ts(),
}, (t) => [primaryKey({ columns: [t.customerId, t.channel] }), check('consents_channel_check', sql`${t.channel} in ('sms', 'email', 'push')`)]);

/** Every consent change ever recorded: the proof of consent outlives erasure (it holds no personal data). */
export const consentHistory = customersSchema.table('consent_history', {
  id: uuid().primaryKey(),
  customerId: uuid().notNull().references(() => customers.id, { onDelete: 'cascade' }),
  channel: text().notNull(),
  granted: boolean().notNull(),
  source: text().notNull(),
  actor: text().notNull(),
  recordedAt: ts(),
}, (t) => [index('consent_history_customer_idx').on(t.customerId, t.id)]);

export const billingAccounts = customersSchema.table('billing_accounts', {
  id: uuid().primaryKey(),
  customerId: uuid().notNull().references(() => customers.id, { onDelete: 'restrict' }),
  name: text().notNull(),
  type: text({ enum: ['prepaid', 'postpaid'] }).notNull(),
  currency: text().notNull(),
  /** Postpaid only: the day of the month the bill run closes this account's cycle. */
  billCycleDay: integer(),
  status: text({ enum: ['active', 'closed'] }).notNull().default('active'),
  createdAt: ts(),
  updatedAt: ts(),
}, (t) => [
  index('billing_accounts_customer_idx').on(t.customerId),
  check('billing_accounts_type_check', sql`${t.type} in ('prepaid', 'postpaid')`),
  check('billing_accounts_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
  check('billing_accounts_cycle_check', sql`(${t.type} = 'postpaid' and ${t.billCycleDay} between 1 and 31) or (${t.type} = 'prepaid' and ${t.billCycleDay} is null)`),
  check('billing_accounts_status_check', sql`${t.status} in ('active', 'closed')`),
]);
