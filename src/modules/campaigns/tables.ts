import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, interval, jsonb, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { CampaignSegment } from './audience.js';

export const campaignsSchema = pgSchema('campaigns');

const ts = () => timestamp({ withTimezone: true }).notNull().defaultNow();
const at = () => timestamp({ withTimezone: true });

/** The only channels there are. No voice: telemarketing is out of scope by design. */
export const messageChannels = ['sms', 'email'] as const;
export type MessageChannel = (typeof messageChannels)[number];
/** Transactional (balance, bills, outages, surveys) or marketing (needs the customer's consent). */
export const messageKinds = ['transactional', 'marketing'] as const;
export const messageStates = ['queued', 'sending', 'sent', 'delivered', 'failed', 'expired', 'held', 'skipped'] as const;
export type MessageState = (typeof messageStates)[number];

/**
 * A message text for one purpose (an event type such as balance.low, or a campaign's own), one
 * channel and one language; its variables are checked against the purpose's catalogue on save.
 */
export const templates = campaignsSchema.table('templates', {
  id: uuid().primaryKey(),
  purpose: text().notNull(),
  channel: text({ enum: messageChannels }).notNull(),
  language: text().notNull(),
  /** Email only. */
  subject: text(),
  /** The SMS text, or the email's plain-text part. */
  body: text().notNull(),
  /** Email only: the HTML part (values are HTML-escaped when rendered). */
  html: text(),
  createdBy: text().notNull(),
  createdAt: ts(),
  updatedAt: ts(),
}, (t) => [
  uniqueIndex('templates_key').on(t.purpose, t.channel, t.language),
  check('templates_channel_check', sql`${t.channel} in ('sms', 'email') and (${t.channel} = 'email' or (${t.subject} is null and ${t.html} is null))
    and (${t.channel} = 'sms' or ${t.subject} is not null)`),
]);

/** A domain event that sends a message: to which customers' channels (in order of preference), of which kind, on which conditions. */
export const triggers = campaignsSchema.table('triggers', {
  id: uuid().primaryKey(),
  name: text().notNull(),
  eventType: text().notNull(),
  kind: text({ enum: messageKinds }).notNull(),
  channels: jsonb().$type<MessageChannel[]>().notNull(),
  /** Each left out: any. */
  conditions: jsonb().$type<{ segments?: string[]; languages?: string[]; plans?: string[] }>().notNull().default({}),
  active: boolean().notNull().default(true),
  createdBy: text().notNull(),
  createdAt: ts(),
  updatedAt: ts(),
}, (t) => [
  index('triggers_event_idx').on(t.eventType).where(sql`active`),
  check('triggers_kind_check', sql`${t.kind} in ('transactional', 'marketing')`),
]);

export const campaignStatuses = ['draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled'] as const;

/**
 * A message to a segment of customers, now or at a time, once or every N days. Its text is the
 * templates of purpose `campaign.<code>`. The fan-out walks the segment in id order; `cursor` is the
 * last customer it reached, so a paused or interrupted run goes on from there.
 */
export const campaigns = campaignsSchema.table('campaigns', {
  id: uuid().primaryKey(),
  code: text().notNull(),
  name: text().notNull(),
  kind: text({ enum: messageKinds }).notNull().default('marketing'),
  channels: jsonb().$type<MessageChannel[]>().notNull(),
  segment: jsonb().$type<CampaignSegment>().notNull(),
  status: text({ enum: campaignStatuses }).notNull().default('draft'),
  scheduledAt: at(),
  repeatEveryDays: integer(),
  /** Which run of a recurring campaign this is (each run messages a customer once). */
  run: integer().notNull().default(1),
  cursor: uuid(),
  targeted: integer().notNull().default(0),
  createdBy: text().notNull(),
  createdAt: ts(),
  updatedAt: ts(),
  startedAt: at(),
  finishedAt: at(),
}, (t) => [
  uniqueIndex('campaigns_code_key').on(t.code),
  check('campaigns_status_check', sql`${t.status} in ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled') and (${t.repeatEveryDays} is null or ${t.repeatEveryDays} > 0)`),
]);

/**
 * One message to one customer on one channel, and where it is: queued → sending → sent →
 * delivered | failed | expired, or held / skipped with the reason. The dedupe key makes an event
 * delivered twice (or two triggers on one event) produce one message per customer and channel.
 */
export const messages = campaignsSchema.table('messages', {
  id: uuid().primaryKey(),
  customerId: uuid().notNull(),
  dedupeKey: text().notNull(),
  triggerId: uuid().references(() => triggers.id),
  campaignId: uuid().references(() => campaigns.id),
  /** Which run of its (recurring) campaign made it. */
  campaignRun: integer(),
  eventId: uuid(),
  eventType: text(),
  channel: text({ enum: messageChannels }).notNull(),
  kind: text({ enum: messageKinds }).notNull(),
  language: text(),
  /** The customer's, when it was made: quiet hours are theirs. */
  timeZone: text(),
  recipient: text(),
  subject: text(),
  body: text(),
  html: text(),
  state: text({ enum: messageStates }).notNull(),
  reason: text(),
  attempts: integer().notNull().default(0),
  nextAttemptAt: at(),
  providerMessageId: text(),
  /** SMS: the concatenation reference its parts went with, kept once some were accepted, so that a retry sends only the rest, under it. */
  smsReference: integer(),
  createdAt: ts(),
  updatedAt: ts(),
  sentAt: at(),
  deliveredAt: at(),
  failedAt: at(),
}, (t) => [
  uniqueIndex('messages_dedupe_key').on(t.dedupeKey),
  index('messages_customer_idx').on(t.customerId, t.id),
  // The dead-letter and held views; queued and sent rows (nearly all of them) stay out of it.
  index('messages_state_idx').on(t.state, t.id).where(sql`state in ('failed', 'expired', 'held', 'sending')`),
  // The sender's slices (a campaign's queued messages in id order) and the statistics.
  index('messages_campaign_idx').on(t.campaignId, t.state, t.id).where(sql`campaign_id is not null`),
  // Frequency caps count a customer's recent marketing.
  index('messages_marketing_sent_idx').on(t.customerId, t.sentAt).where(sql`kind = 'marketing' and sent_at is not null`),
  // The mail provider's delivery events name the message by the id it went out with.
  index('messages_provider_id_idx').on(t.providerMessageId).where(sql`provider_message_id is not null`),
  check('messages_state_check', sql`${t.state} in ('queued', 'sending', 'sent', 'delivered', 'failed', 'expired', 'held', 'skipped')
    and (${t.state} not in ('held', 'skipped', 'failed') or ${t.reason} is not null)`),
  check('messages_channel_check', sql`${t.channel} in ('sms', 'email') and ${t.kind} in ('transactional', 'marketing')`),
]);

/** Every try to hand a message to its provider, with what the provider said. */
export const messageAttempts = campaignsSchema.table('message_attempts', {
  id: uuid().primaryKey(),
  messageId: uuid().notNull().references(() => messages.id),
  outcome: text({ enum: ['accepted', 'transient_error', 'permanent_error'] }).notNull(),
  response: text(),
  at: ts(),
}, (t) => [index('message_attempts_message_idx').on(t.messageId, t.at)]);

/** A customer's explicit "no" to transactional messages on a channel (where the purpose allows one). */
export const transactionalOptOuts = campaignsSchema.table('transactional_opt_outs', {
  customerId: uuid().notNull(),
  channel: text({ enum: messageChannels }).notNull(),
  source: text().notNull(),
  recordedAt: ts(),
}, (t) => [primaryKey({ columns: [t.customerId, t.channel] })]);

/**
 * The parts an SMSC took a message in (one per concatenated SMS), each with the SMSC's id: its
 * delivery receipt finds the part by that id. The message is delivered when every part is.
 */
export const messageParts = campaignsSchema.table('message_parts', {
  messageId: uuid().notNull().references(() => messages.id),
  part: integer().notNull(),
  providerMessageId: text().notNull(),
  state: text({ enum: ['submitted', 'delivered', 'failed', 'expired'] }).notNull().default('submitted'),
  receipt: text(),
  updatedAt: ts(),
}, (t) => [
  primaryKey({ columns: [t.messageId, t.part] }),
  uniqueIndex('message_parts_provider_key').on(t.providerMessageId),
  check('message_parts_state_check', sql`${t.state} in ('submitted', 'delivered', 'failed', 'expired')`),
]);

/** A receipt that came before its part was recorded (a fast SMSC answers between submit_sm_resp and our commit): applied when it is. */
export const earlyReceipts = campaignsSchema.table('early_receipts', {
  providerMessageId: text().primaryKey(),
  state: text({ enum: ['delivered', 'failed', 'expired'] }).notNull(),
  receipt: text().notNull(),
  receivedAt: ts(),
});

/**
 * A mail provider's delivery event for mail not known (yet) by the id it names: the provider can
 * answer before the send is recorded. The sweep applies it once the message is there.
 */
export const earlyEmailEvents = campaignsSchema.table('early_email_events', {
  providerMessageId: text().notNull(),
  type: text({ enum: ['delivered', 'bounced'] }).notNull(),
  reason: text(),
  occurredAt: timestamp({ withTimezone: true }).notNull(),
  receivedAt: ts(),
}, (t) => [primaryKey({ columns: [t.providerMessageId, t.type] }), check('early_email_events_type_check', sql`${t.type} in ('delivered', 'bounced')`)]);

/** Every message customers sent us (an SMS to the short code, ...), kept with whom it was matched to and what it did. */
export const inboundMessages = campaignsSchema.table('inbound_messages', {
  id: uuid().primaryKey(),
  channel: text({ enum: messageChannels }).notNull(),
  sender: text().notNull(),
  recipient: text().notNull(),
  body: text().notNull(),
  customerIds: jsonb().$type<string[]>().notNull(),
  /** The opt-out keyword it was, if any. */
  keyword: text(),
  /** The mail provider's id of it: a webhook delivered twice is one message. */
  externalId: text(),
  receivedAt: ts(),
}, (t) => [index('inbound_messages_received_idx').on(t.receivedAt), uniqueIndex('inbound_messages_external_key').on(t.channel, t.externalId)]);

/**
 * A customer who recharged (or redeemed a voucher) within the conversion window after a campaign
 * reached them: counted once per campaign and customer, with the first such recharge.
 */
export const conversions = campaignsSchema.table('conversions', {
  campaignId: uuid().notNull().references(() => campaigns.id),
  run: integer().notNull(),
  customerId: uuid().notNull(),
  eventId: uuid().notNull(),
  amount: integer().notNull(),
  currency: text().notNull(),
  at: ts(),
}, (t) => [primaryKey({ columns: [t.campaignId, t.run, t.customerId] })]);

/**
 * The send-rate limits shared by every worker: `tat` is when the limit is next free, `spacing` the
 * share of it the last message took (see send-rate.ts).
 */
export const sendRates = campaignsSchema.table('send_rates', {
  name: text().primaryKey(),
  spacing: interval().notNull(),
  tat: timestamp({ withTimezone: true }).notNull(),
});
