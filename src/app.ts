import Fastify, { type FastifyReply, type FastifyServerOptions } from 'fastify';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from './platform/config.js';
import type { Database, Tx } from './platform/db/client.js';
import type { Secrets } from './platform/secrets.js';
import { fieldCrypto } from './platform/crypto/fields.js';
import { credentials as makeCredentials } from './platform/auth/credentials.js';
import { authGuard } from './platform/auth/guard.js';
import { identityRoutes } from './platform/auth/routes.js';
import { auditRoutes } from './platform/audit/routes.js';
import { eventJobs, type Subscriber } from './platform/events/events.js';
import { eventRoutes } from './platform/events/routes.js';
import { healthRoutes } from './platform/http/health.js';
import { idempotencyPlugin, purgeIdempotencyKeys } from './platform/http/idempotency.js';
import { httpPlugin } from './platform/http/plugin.js';
import { httpErrors, sendProblem } from './platform/http/errors.js';
import { inflightPlugin } from './platform/http/inflight.js';
import { mergeJobs, type JobsSetup } from './platform/jobs/jobs.js';
import { partitionJobs } from './platform/db/partitions.js';
import { createMetrics } from './platform/metrics.js';
import { uuidv7 } from './platform/ids.js';
import { logOptions } from './platform/log.js';
import { billingJobs, billingModule, billingSubscribers, billingViewPart, setBalanceClosed } from './modules/billing/index.js';
import { customerExists, customersModule, customerViewRoot } from './modules/customers/index.js';
import { accountHasLines, ordersJobs, ordersModule, ordersSubscribers, ordersViewPart } from './modules/orders/index.js';
import { orderPricer, pinHasher, vouchersJobs, vouchersModule, vouchersSubscribers, vouchersViewPart } from './modules/vouchers/index.js';
import { serviceInbound, serviceJobs, serviceModule, serviceSubscribers } from './modules/service/index.js';
import { campaignsJobs, campaignsModule, campaignsSubscribers, parseQuietHours, smsCentre, smtpProvider, unsubscribeLinks } from './modules/campaigns/index.js';

export interface Platform {
  config: Config;
  database: Database;
  secrets: Secrets;
}

export const openapiInfo = {
  title: 'Telco CRM/BSS API',
  version: '0.1.0',
  description: 'Customer core, access control and platform services of an open-source telecom CRM/BSS. '
    + 'Errors are RFC 9457 problem+json documents with a stable `code`. Money is in minor units; times are UTC.',
};

export function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  return config.LOG_LEVEL === 'silent' ? false : logOptions(config.LOG_LEVEL);
}

/** The whole HTTP application with every module, and the jobs its workers run. */
export async function buildApp(p: Platform) {
  const { config, database, secrets } = p;
  const { db } = database;
  const crypto = fieldCrypto(secrets.dataEncryptionKeys, secrets.dataHashKey);
  const credentials = makeCredentials(db, secrets.authSecret, { tokenTtlSeconds: config.JWT_TTL_SECONDS, cacheSeconds: config.AUTH_CACHE_SECONDS });
  const metrics = createMetrics(database.sql, config.METRICS_TOKEN);

  const app = Fastify({
    logger: loggerOptions(config),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // A caller's own correlation id is kept only when it is short and plain: it lands in every log
    // line and audit row.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : uuidv7();
    },
    // Our own 503 problem while closing (platform/http/plugin.ts), and problem+json for the errors
    // the router raises before any hook runs (a malformed URL).
    return503OnClosing: false,
    frameworkErrors: (err, _req, reply) => sendProblem(reply as FastifyReply, httpErrors.bad_request(err.message)),
    // A request Node's HTTP parser cannot read (raw non-ASCII in the URL, a broken header) never
    // reaches Fastify's handlers: it still gets a problem, not Node's bare "Client Error".
    clientErrorHandler: (err, socket) => {
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || socket.destroyed) return;
      const body = JSON.stringify({ type: 'https://telco-crm.dev/problems/bad-request', title: 'Bad Request', status: 400, code: 'bad_request',
        detail: 'The HTTP request could not be read (characters outside ASCII in the URL must be percent-encoded)' });
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
    trustProxy: config.TRUST_PROXY === 'true' ? true : config.TRUST_PROXY === 'false' ? false : config.TRUST_PROXY.split(',').map((a) => a.trim()),
    // Long path parameters reach the route and get a 400 problem from its schema, not a bare 414.
    routerOptions: { maxParamLength: 8192 },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(httpPlugin);
  await app.register(helmet, { global: true });
  if (config.RATE_LIMIT_MAX > 0) {
    await app.register(rateLimit, {
      max: config.RATE_LIMIT_MAX,
      timeWindow: '1 minute',
      errorResponseBuilder: (_req, ctx) => Object.assign(new Error(`Rate limit exceeded; retry in ${ctx.after}`), { statusCode: 429 }),
    });
  }
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: openapiInfo,
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key (tcrm_...) or an access token from POST /v1/auth/login' } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(authGuard, { credentials }); // before any route, so it sees every one
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  await app.register(idempotencyPlugin, { db, crypto });
  await app.register(inflightPlugin);
  await app.register(metrics.plugin);

  await app.register(healthRoutes, { sql: database.sql });
  // Partners have no module yet: any partnerId is accepted until the partners module answers.
  const partyExists = async (kind: 'partner' | 'customer', id: string) => kind === 'partner' || customerExists(db, id);
  await app.register(identityRoutes, { db, credentials, partyExists });
  await app.register(auditRoutes, { db });
  await app.register(eventRoutes, { db });
  // Orders and billing build on customers, which never imports them: it is handed in how to tell an
  // account still has lines, and whom to tell when one closes (its balance takes no more credit).
  const customers = { db, readAuditDb: database.relaxed, crypto, accountInUse: accountHasLines, accountStatusChanged: (tx: Tx, id: string, status: 'active' | 'closed') => setBalanceClosed(tx, id, status === 'closed') };
  await app.register(customersModule, customers);
  // Discounts live with vouchers, which builds on orders: orders is handed the pricer, never imports it.
  await app.register(ordersModule, { db, crypto, pricer: orderPricer });
  const billing = {
    db,
    settings: { adjustmentSupervisorAbove: config.ADJUSTMENT_SUPERVISOR_ABOVE, rechargeValidityDays: config.RECHARGE_VALIDITY_DAYS },
    billRun: { taxRates: config.TAX_RATES, defaultTaxBp: config.DEFAULT_TAX_BP, paymentTermsDays: config.PAYMENT_TERMS_DAYS },
    dunning: { reminderDays: config.DUNNING_REMINDER_DAYS.split(',').map(Number), suspendDays: config.DUNNING_SUSPEND_DAYS },
  };
  await app.register(billingModule, billing);
  const vouchers = {
    db, crypto, hash: pinHasher(secrets.voucherPinKey),
    redemption: {
      failuresPerTarget: config.VOUCHER_FAILURES_PER_TARGET, failuresPerCaller: config.VOUCHER_FAILURES_PER_CALLER, failuresPerAddress: config.VOUCHER_FAILURES_PER_ADDRESS,
      windowMinutes: config.VOUCHER_FAILURE_WINDOW_MINUTES, lockoutMinutes: config.VOUCHER_LOCKOUT_MINUTES, rechargeValidityDays: config.RECHARGE_VALIDITY_DAYS,
      groupSize: config.VOUCHER_REDEMPTION_GROUP_SIZE,
    },
    registry: metrics.registry,
  };
  await app.register(vouchersModule, vouchers);
  const service = {
    db, settings: { reopenWindowDays: config.TICKET_REOPEN_DAYS, recurring: { count: config.RECURRING_TICKETS, windowDays: config.RECURRING_WINDOW_DAYS }, csatSurveyDays: config.CSAT_SURVEY_DAYS },
    // The 360° view: the customer record, then every module's part (service adds its own). A later module adds its part here.
    customerView: { root: customerViewRoot(customers), parts: [billingViewPart, ordersViewPart, vouchersViewPart(vouchers.redemption)] },
  };
  await app.register(serviceModule, service);

  // What customers write to us reaches customer service: the service module hands campaigns the hook.
  const inbound = { stopWords: config.SMS_STOP_WORDS.split(','), contact: serviceInbound(service) };
  const sms = config.SMPP_URL ? smsCentre(db, config.SMPP_URL, { sourceAddr: config.SMPP_SOURCE_ADDR, window: config.SMPP_WINDOW, ...inbound }) : undefined;
  if (sms) app.addHook('onClose', () => sms.close());
  // One-click unsubscribe links in marketing email: signed with a key derived from the auth secret, pointing at PUBLIC_URL.
  const unsubscribe = unsubscribeLinks(secrets.authSecret, config.PUBLIC_URL);
  const email = config.SMTP_URL ? smtpProvider(config.SMTP_URL, config.MAIL_FROM, unsubscribe) : undefined;
  if (email) app.addHook('onClose', async () => email.close());
  const campaigns = {
    db,
    unsubscribe,
    inbound,
    providers: {
      ...(email ? { email } : {}),
      ...(sms ? { sms } : {}),
    },
    settings: {
      operatorLanguage: config.OPERATOR_LANGUAGE, maxAttempts: config.MESSAGE_MAX_ATTEMPTS, quietHours: parseQuietHours(config.QUIET_HOURS),
      caps: { perDay: config.MARKETING_CAP_PER_DAY, perWeek: config.MARKETING_CAP_PER_WEEK }, rates: { sms: config.SMS_SEND_RATE || null, email: config.EMAIL_SEND_RATE || null, campaigns: config.CAMPAIGN_SEND_RATE || null }, concurrency: config.CAMPAIGN_SEND_CONCURRENCY, conversionDays: config.CONVERSION_DAYS,
    },
  };
  await app.register(campaignsModule, campaigns);

  const subscribers: Subscriber[] = [...ordersSubscribers, ...billingSubscribers(billing), ...vouchersSubscribers, ...serviceSubscribers(service), ...campaignsSubscribers(campaigns)];
  const jobs: JobsSetup = mergeJobs(
    eventJobs(db, subscribers),
    partitionJobs(db),
    ordersJobs(db),
    billingJobs(billing),
    vouchersJobs(vouchers),
    serviceJobs(service),
    campaignsJobs(campaigns),
    { tasks: { 'platform.purge_idempotency_keys': () => purgeIdempotencyKeys(db) }, cron: [{ pattern: '17 * * * *', task: 'platform.purge_idempotency_keys' }] },
  );
  return { app, jobs, subscribers, credentials, metrics };
}

export type App = Awaited<ReturnType<typeof buildApp>>;
