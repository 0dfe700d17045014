import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const keyEntry = /^[A-Za-z0-9_-]+:[A-Za-z0-9+/=_-]{43,}$/;

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1024).max(65535).default(54329),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(20),
  ADMIN_API_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  // Secrets: required in production; elsewhere generated once and kept in the database.
  AUTH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  // "keyId:base64(32 bytes)[,keyId:base64...]": the first encrypts, all decrypt (rotation).
  DATA_ENCRYPTION_KEYS: z.string()
    .refine((v) => v.split(',').every((k) => keyEntry.test(k.trim())), 'expected "keyId:base64key[,keyId:base64key...]"')
    .optional(),
  DATA_HASH_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** The key of voucher PIN hashes (HMAC-SHA-256): changing it makes every PIN in circulation unknown. */
  VOUCHER_PIN_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_TTL_SECONDS: z.coerce.number().int().min(60).max(86400).default(900),
  AUTH_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  RATE_LIMIT_MAX: z.coerce.number().int().min(0).default(6000),
  /** Behind a load balancer: 'true', or the proxies' addresses/CIDRs, so rate limits see the client. */
  TRUST_PROXY: z.string().regex(/^(true|false|[0-9a-fA-F.:/,\s]+)$/, "'true', 'false' or a comma-separated list of addresses/CIDRs").default('false'),
  /** When set, GET /metrics wants "Authorization: Bearer <METRICS_TOKEN>". */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  RUN_WORKER: bool.default(true),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(9000),
  /** Billing: a CSR's balance adjustment above this (minor units, either sign) needs a supervisor. */
  ADJUSTMENT_SUPERVISOR_ABOVE: z.coerce.number().int().min(0).default(5000),
  /** Billing: how many days a recharge keeps a prepaid balance valid from now (never shortening it). */
  RECHARGE_VALIDITY_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** Service: how many days a resolved ticket may be reopened; after that it is closed. */
  TICKET_REOPEN_DAYS: z.coerce.number().int().min(0).max(365).default(7),
  /** Service: a customer's Nth ticket of one service type within RECURRING_WINDOW_DAYS is a recurring issue. */
  RECURRING_TICKETS: z.coerce.number().int().min(2).max(100).default(3),
  RECURRING_WINDOW_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** Service: how long a satisfaction survey sent on resolution can be answered. */
  CSAT_SURVEY_DAYS: z.coerce.number().int().min(1).max(90).default(7),
  /** Billing: VAT per country in basis points ("DE:1900,FR:2000"); DEFAULT_TAX_BP for the rest. */
  TAX_RATES: z.string().regex(/^([A-Z]{2}:\d{1,4})(,[A-Z]{2}:\d{1,4})*$|^$/, '"DE:1900,FR:2000"').default(''),
  DEFAULT_TAX_BP: z.coerce.number().int().min(0).max(10000).default(0),
  /** Billing: days from issue to due date, reminder days after it, and the day lines are barred. */
  PAYMENT_TERMS_DAYS: z.coerce.number().int().min(0).max(365).default(14),
  DUNNING_REMINDER_DAYS: z.string().regex(/^\d{1,3}(,\d{1,3})*$/).default('3,10'),
  DUNNING_SUSPEND_DAYS: z.coerce.number().int().min(1).max(365).default(21),
  /** Vouchers: wrong PINs allowed per line or account, per caller and per source address within the window, then a lockout. */
  VOUCHER_FAILURES_PER_TARGET: z.coerce.number().int().min(1).max(1000).default(5),
  VOUCHER_FAILURES_PER_CALLER: z.coerce.number().int().min(1).max(100000).default(10),
  VOUCHER_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(100000).default(20),
  VOUCHER_FAILURE_WINDOW_MINUTES: z.coerce.number().int().min(1).max(1440).default(15),
  VOUCHER_LOCKOUT_MINUTES: z.coerce.number().int().min(1).max(10080).default(30),
  /** Redemptions arriving together are made in groups of up to this many (one statement, one commit); 0: each on its own. */
  VOUCHER_REDEMPTION_GROUP_SIZE: z.coerce.number().int().min(0).max(500).default(32),
  /** The address customers reach this API at, for links in messages (one-click unsubscribe, surveys). */
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).default('http://localhost:3000'),
  /** Campaigns: the language a message falls back to when none of the customer's is written. */
  OPERATOR_LANGUAGE: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/).default('en'),
  /** Campaigns: where email goes ("smtp://user:pass@host:587"); unset, email messages wait queued. */
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  MAIL_FROM: z.string().min(3).default('Telco CRM <noreply@telco-crm.invalid>'),
  /** Campaigns: the words that, sent by SMS, withdraw SMS marketing consent (one or more per language). */
  SMS_STOP_WORDS: z.string().regex(/^[^,\s]+(,[^,\s]+)*$/).default('STOP,STOPP,ARRET,ARRÊT,ALTO,BASTA,BAJA,UNSUBSCRIBE'),
  /** Campaigns: where SMS goes ("smpp://system_id:password@host:2775"); unset, SMS messages wait queued. */
  SMPP_URL: z.url({ protocol: /^smpp$/ }).optional(),
  SMPP_SOURCE_ADDR: z.string().min(1).max(20).default('TelcoCRM'),
  SMPP_WINDOW: z.coerce.number().int().min(1).max(100).default(10),
  /** Campaigns: when no marketing message goes out, in each customer's own time zone ("21:00-08:00"; "00:00-00:00": never quiet). */
  QUIET_HOURS: z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)?$/, '"HH:MM-HH:MM"').default('21:00-08:00'),
  /** Campaigns: at most this many marketing messages reach a customer in a day, and in a week. */
  MARKETING_CAP_PER_DAY: z.coerce.number().int().min(1).max(100).default(2),
  MARKETING_CAP_PER_WEEK: z.coerce.number().int().min(1).max(500).default(5),
  /**
   * Campaigns: messages per second at most over all workers, through the SMSC, through the SMTP
   * relay, and for all campaigns together (below the providers', leaving room for balance and
   * outage notices); 0: no limit.
   */
  SMS_SEND_RATE: z.coerce.number().int().min(0).max(10000).default(100),
  EMAIL_SEND_RATE: z.coerce.number().int().min(0).max(10000).default(100),
  CAMPAIGN_SEND_RATE: z.coerce.number().int().min(0).max(10000).default(80),
  /** Campaigns: messages a campaign's sender hands to providers at once. */
  CAMPAIGN_SEND_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(10),
  /** Campaigns: a recharge this many days after a campaign reached the customer counts as its conversion. */
  CONVERSION_DAYS: z.coerce.number().int().min(1).max(90).default(7),
  /** Campaigns: how often a message is tried before it is dead-lettered (failed). */
  MESSAGE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(6),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {}

/** Reads the environment once; a bad value stops start-up naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  if (config.NODE_ENV === 'production') {
    const missing: string[] = (['AUTH_SECRET', 'DATA_ENCRYPTION_KEYS', 'DATA_HASH_KEY', 'VOUCHER_PIN_KEY'] as const).filter((k) => !config[k]);
    // Unsubscribe and survey links to localhost would reach no customer.
    if (!present.PUBLIC_URL) missing.push('PUBLIC_URL');
    if (missing.length) throw new ConfigError(`Invalid configuration:\n${missing.map((k) => `  ${k}: required when NODE_ENV=production`).join('\n')}`);
  }
  return config;
}

/** For process entry points: a bad configuration is a message on stderr and exit code 1, not a stack. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}
