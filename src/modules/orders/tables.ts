import { sql } from 'drizzle-orm';
import { type AnyPgColumn, check, index, integer, jsonb, pgSchema, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { AddOnTerms, PlanTerms } from './catalog-schemas.js';

export const ordersSchema = pgSchema('orders');

const ts = () => timestamp({ withTimezone: true }).notNull().defaultNow();

/** What an operator sells as a base plan. Its price and terms live in versions. */
export const pricePlans = ordersSchema.table('price_plans', {
  id: uuid().primaryKey(),
  code: text().notNull(),
  name: text().notNull(),
  kind: text({ enum: ['prepaid', 'postpaid'] }).notNull(),
  status: text({ enum: ['draft', 'active', 'retired'] }).notNull().default('draft'),
  currentVersion: integer().notNull().default(1),
  createdAt: ts(),
  updatedAt: ts(),
}, (t) => [
  uniqueIndex('price_plans_code_key').on(t.code),
  check('price_plans_kind_check', sql`${t.kind} in ('prepaid', 'postpaid')`),
  check('price_plans_status_check', sql`${t.status} in ('draft', 'active', 'retired')`),
]);

/**
 * The terms a subscriber agreed to. A published version is never changed: a new price is a new
 * version, and existing lines keep pointing at theirs.
 */
export const pricePlanVersions = ordersSchema.table('price_plan_versions', {
  id: uuid().primaryKey(),
  planId: uuid().notNull().references(() => pricePlans.id),
  version: integer().notNull(),
  feeAmount: integer().notNull(),
  currency: text().notNull(),
  terms: jsonb().$type<PlanTerms>().notNull(),
  createdAt: ts(),
  publishedAt: timestamp({ withTimezone: true }),
}, (t) => [
  uniqueIndex('price_plan_versions_plan_version_key').on(t.planId, t.version),
  check('price_plan_versions_fee_check', sql`${t.feeAmount} >= 0`),
  check('price_plan_versions_version_check', sql`${t.version} >= 1`),
  check('price_plan_versions_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
]);

/** A pack a line can add to its plan: "7-day EU roaming, 2 GB", "night data". Terms live in versions. */
export const addOns = ordersSchema.table('add_ons', {
  id: uuid().primaryKey(),
  code: text().notNull(),
  name: text().notNull(),
  /** one_off: bought once, valid for its validity; recurring: renewed each cycle until removed. */
  kind: text({ enum: ['one_off', 'recurring'] }).notNull(),
  status: text({ enum: ['draft', 'active', 'retired'] }).notNull().default('draft'),
  currentVersion: integer().notNull().default(1),
  createdAt: ts(),
  updatedAt: ts(),
}, (t) => [
  uniqueIndex('add_ons_code_key').on(t.code),
  check('add_ons_kind_check', sql`${t.kind} in ('one_off', 'recurring')`),
  check('add_ons_status_check', sql`${t.status} in ('draft', 'active', 'retired')`),
]);

export const addOnVersions = ordersSchema.table('add_on_versions', {
  id: uuid().primaryKey(),
  addOnId: uuid().notNull().references(() => addOns.id),
  version: integer().notNull(),
  feeAmount: integer().notNull(),
  currency: text().notNull(),
  terms: jsonb().$type<AddOnTerms>().notNull(),
  createdAt: ts(),
  publishedAt: timestamp({ withTimezone: true }),
}, (t) => [
  uniqueIndex('add_on_versions_add_on_version_key').on(t.addOnId, t.version),
  check('add_on_versions_fee_check', sql`${t.feeAmount} >= 0`),
  check('add_on_versions_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
]);

/** A sellable physical item (router, CPE, handset); each unit in stock is a row of device_units. */
export const devices = ordersSchema.table('devices', {
  sku: text().primaryKey(),
  name: text().notNull(),
  priceAmount: integer().notNull(),
  currency: text().notNull(),
  status: text({ enum: ['active', 'retired'] }).notNull().default('active'),
  createdAt: ts(),
  updatedAt: ts(),
}, (t) => [
  check('devices_price_check', sql`${t.priceAmount} >= 0`),
  check('devices_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
  check('devices_status_check', sql`${t.status} in ('active', 'retired')`),
]);

const resourceStatus = ['available', 'reserved', 'assigned', 'quarantined'] as const;

/** The lifecycle every pooled resource shares (numbers, SIMs): a fresh set of columns per table. */
const lifecycleColumns = () => ({
  status: text({ enum: resourceStatus }).notNull().default('available'),
  reservedFor: text(),
  reservedUntil: timestamp({ withTimezone: true }),
  assignedTo: text(),
  quarantinedUntil: timestamp({ withTimezone: true }),
  updatedAt: ts(),
});

type Lifecycle = { [K in keyof ReturnType<typeof lifecycleColumns>]: AnyPgColumn };

/** Each state carries exactly the fields that say why and until when. */
const lifecycleChecks = (table: string, t: Lifecycle) => [
  check(`${table}_status_check`, sql`${t.status} in ('available', 'reserved', 'assigned', 'quarantined')`),
  check(`${table}_reserved_check`, sql`(${t.status} = 'reserved') = (${t.reservedFor} is not null and ${t.reservedUntil} is not null)`),
  check(`${table}_assigned_check`, sql`(${t.status} = 'assigned') = (${t.assignedTo} is not null)`),
  check(`${table}_quarantined_check`, sql`(${t.status} = 'quarantined') = (${t.quarantinedUntil} is not null)`),
  index(`${table}_status_idx`).on(t.status, t.reservedUntil),
];

/**
 * Phone numbers the operator can hand out. available → reserved (until `reservedUntil`, for one
 * order) → assigned (to a line) → quarantined after release (until `quarantinedUntil`) → available.
 */
export const msisdns = ordersSchema.table('msisdns', {
  msisdn: text().primaryKey(),
  category: text().notNull().default('standard'),
  ...lifecycleColumns(),
}, (t) => [
  ...lifecycleChecks('msisdns', t),
  check('msisdns_e164_check', sql`${t.msisdn} ~ '^\\+[1-9][0-9]{6,14}$'`),
  index('msisdns_pick_idx').on(t.category, t.msisdn).where(sql`status = 'available'`),
]);

/** SIM cards. The PUK is sealed with the field-encryption key (platform/crypto). */
export const sims = ordersSchema.table('sims', {
  iccid: text().primaryKey(),
  imsi: text().notNull(),
  pukEnc: text().notNull(),
  ...lifecycleColumns(),
}, (t) => [
  ...lifecycleChecks('sims', t),
  uniqueIndex('sims_imsi_key').on(t.imsi),
  check('sims_iccid_check', sql`${t.iccid} ~ '^89[0-9]{16,18}$'`),
  check('sims_imsi_check', sql`${t.imsi} ~ '^[0-9]{15}$'`),
  index('sims_pick_idx').on(t.iccid).where(sql`status = 'available'`),
]);

/** One physical unit of a device, by serial number; "assigned" means sold (to the order's customer). */
export const deviceUnits = ordersSchema.table('device_units', {
  serial: text().primaryKey(),
  sku: text().notNull().references(() => devices.sku),
  ...lifecycleColumns(),
}, (t) => [
  ...lifecycleChecks('device_units', t),
  index('device_units_pick_idx').on(t.sku, t.serial).where(sql`status = 'available'`),
]);
