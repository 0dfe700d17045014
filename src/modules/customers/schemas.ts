import { z } from 'zod';
import { currencyCode } from '../../platform/http/money.js';

export const segments = ['consumer', 'vip', 'enterprise'] as const;
export const consentChannels = ['sms', 'email', 'push'] as const;

const name = z.string().trim().min(1).max(200);
export const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number such as +447700900123');
const language = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP 47 tag such as "en" or "pt-BR"');
const timeZone = z.string().max(64).refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as "Europe/Paris"');
const country = z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2, e.g. "FR"');
const isoDate = z.iso.date();
const pastDate = isoDate.refine((d) => d <= new Date().toISOString().slice(0, 10), 'must not be in the future');
/** Spaces and dashes are formatting, not part of the number: stored and compared without them. */
export const documentNumber = z.string().max(64).transform((n) => n.replace(/[\s-]/g, '').toUpperCase())
  .pipe(z.string().min(3, 'at least 3 characters besides spaces and dashes').regex(/^[A-Z0-9./]+$/, 'letters, digits, "." and "/"'));

export const contactPointInput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('phone'), value: e164, isPrimary: z.boolean().default(false) }).strict(),
  z.object({ kind: z.literal('email'), value: z.email().max(254).transform((v) => v.toLowerCase()), isPrimary: z.boolean().default(false) }).strict(),
]);
export const addressInput = z.object({
  kind: z.enum(['home', 'billing', 'installation', 'shipping']),
  line1: z.string().trim().min(1).max(200), line2: z.string().trim().max(200).optional(),
  city: z.string().trim().min(1).max(100), postcode: z.string().trim().max(20).optional(),
  region: z.string().trim().max(100).optional(), country,
}).strict();
export const identityDocumentInput = z.object({
  kind: z.enum(['national_id', 'passport', 'driving_licence', 'residence_permit', 'company_registration']),
  number: documentNumber,
  issuingCountry: country,
  expiresOn: isoDate.optional(),
}).strict();
// 'voice' is named here only to be refused with its own code: there is no telemarketing channel.
export const consentChannelParam = z.enum([...consentChannels, 'voice']);
export const consentInput = z.object({
  granted: z.boolean(),
  source: z.string().trim().min(1).max(100).describe('Where the customer said so: web-form, app, retail-store, call-recording-123 ...'),
}).strict();
export const billingAccountInput = z.object({
  name: z.string().trim().min(1).max(200).default('Main account'),
  type: z.enum(['prepaid', 'postpaid']),
  currency: currencyCode,
  billCycleDay: z.number().int().min(1).max(31).optional().describe('Postpaid only; 1 to 31 (29 to 31 close on the last day of shorter months)'),
}).strict();

export const createCustomerBody = z.object({
  type: z.enum(['individual', 'business']),
  segment: z.enum(segments).default('consumer'),
  givenName: name.optional(), familyName: name.optional(), companyName: name.optional(),
  preferredLanguage: language.default('en'),
  timeZone: timeZone.default('UTC'),
  dateOfBirth: pastDate.optional(),
  partnerId: z.uuid().optional().describe('Acquiring partner; set automatically for partner callers'),
  contactPoints: z.array(contactPointInput).max(20).default([]),
  addresses: z.array(addressInput).max(20).default([]),
  identityDocuments: z.array(identityDocumentInput).max(10).default([]),
  consents: z.array(consentInput.extend({ channel: z.enum(consentChannels) })).max(3).default([]),
}).strict().superRefine((c, ctx) => {
  const channels = c.consents.map((k) => k.channel);
  if (new Set(channels).size !== channels.length) ctx.addIssue({ code: 'custom', path: ['consents'], message: 'one entry per channel' });
  for (const kind of ['phone', 'email'] as const) {
    if (c.contactPoints.filter((p) => p.kind === kind && p.isPrimary).length > 1) {
      ctx.addIssue({ code: 'custom', path: ['contactPoints'], message: `at most one primary ${kind}` });
    }
  }
  // The same number, address or document twice is one typed twice: each is kept once.
  const twice = <T>(items: T[], key: (t: T) => string, path: string, what: string) => {
    const seen = new Set<string>();
    items.forEach((item, n) => {
      if (seen.has(key(item))) ctx.addIssue({ code: 'custom', path: [path, n], message: `the same ${what} twice` });
      seen.add(key(item));
    });
  };
  twice(c.contactPoints, (p) => `${p.kind}:${p.value}`, 'contactPoints', 'contact point');
  twice(c.identityDocuments, (d) => `${d.kind}:${d.issuingCountry}:${d.number}`, 'identityDocuments', 'document');
});
export type CreateCustomer = z.infer<typeof createCustomerBody>;

/** JSON merge patch (RFC 7396): null removes an optional value; absent leaves it alone. */
export const updateCustomerBody = z.object({
  segment: z.enum(segments),
  status: z.enum(['active', 'suspended', 'closed']),
  givenName: name.nullable(), familyName: name.nullable(), companyName: name.nullable(),
  preferredLanguage: language, timeZone,
  dateOfBirth: pastDate.nullable(),
  partnerId: z.uuid().nullable(),
}).partial().strict();
export type UpdateCustomer = z.infer<typeof updateCustomerBody>;

export const updateBillingAccountBody = z.object({
  name: z.string().trim().min(1).max(200),
  status: z.enum(['active', 'closed']),
  billCycleDay: z.number().int().min(1).max(31),
}).partial().strict();

export const listCustomersQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  segment: z.enum(segments).optional(),
  status: z.enum(['active', 'suspended', 'closed', 'erased']).optional(),
  type: z.enum(['individual', 'business']).optional(),
  partnerId: z.uuid().optional(),
});
export const searchCustomersQuery = z.object({
  msisdn: e164.optional(),
  email: z.email().max(254).optional(),
  name: z.string().trim().min(2).max(100).optional(),
  documentNumber: documentNumber.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const stamp = z.date();
export const contactPoint = z.object({
  id: z.uuid(), kind: z.enum(['phone', 'email']), value: z.string(), isPrimary: z.boolean(), createdAt: stamp,
  undeliverableSince: stamp.nullable().describe('Mail to it bounced for good: messages pass it over until it is replaced (removed and added again, or another one)'),
  undeliverableReason: z.string().nullable(),
});
export const address = z.object(addressInput.shape).extend({ id: z.uuid(), line2: z.string().nullable(), postcode: z.string().nullable(), region: z.string().nullable(), createdAt: stamp });
export const identityDocument = z.object({
  id: z.uuid(), kind: z.string(), numberMasked: z.string().describe('Only the last four characters are shown'),
  issuingCountry: z.string(), expiresOn: z.string().nullable(), createdAt: stamp,
});
export const consent = z.object({ channel: z.enum(consentChannels), granted: z.boolean(), source: z.string(), recordedAt: stamp });
export const billingAccount = z.object({
  id: z.uuid(), customerId: z.uuid(), name: z.string(), type: z.enum(['prepaid', 'postpaid']), currency: z.string(),
  billCycleDay: z.number().int().nullable(), status: z.enum(['active', 'closed']), createdAt: stamp, updatedAt: stamp,
});
export const customerSummary = z.object({
  id: z.uuid(), type: z.enum(['individual', 'business']), segment: z.enum(segments),
  status: z.enum(['active', 'suspended', 'closed', 'erased']), displayName: z.string(),
  preferredLanguage: z.string(), partnerId: z.uuid().nullable(), createdAt: stamp,
});
export const customer = customerSummary.extend({
  givenName: z.string().nullable(), familyName: z.string().nullable(), companyName: z.string().nullable(),
  timeZone: z.string(), dateOfBirth: z.string().nullable(), updatedAt: stamp, erasedAt: stamp.nullable(),
  contactPoints: z.array(contactPoint), addresses: z.array(address), identityDocuments: z.array(identityDocument),
  consents: z.array(consent), billingAccounts: z.array(billingAccount),
});
export type CustomerView = z.infer<typeof customer>;
