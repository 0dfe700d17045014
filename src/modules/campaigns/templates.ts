import { and, asc, eq, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { uuidv7 } from '../../platform/ids.js';
import { campaignErrors } from './errors.js';
import { catalogueOf } from './purposes.js';
import { smsPlan, smsText } from './sms-encoding.js';
import { type MessageChannel, templates } from './tables.js';
import { type Catalogue, checkTemplate, render, type TemplateProblem, type TemplateValues } from './template-rules.js';

export interface TemplateText { subject?: string | null; body: string; html?: string | null }

function catalogue(purpose: string) {
  const c = catalogueOf(purpose);
  if (!c) throw campaignErrors.unknown_purpose(`"${purpose}" is not a purpose messages can be sent for`);
  return c;
}

/** Every part of the template checked against the purpose's variables: unknown ones are named. */
function check(c: Catalogue, text: TemplateText) {
  const problems: (TemplateProblem & { part: string })[] = [];
  for (const part of ['subject', 'body', 'html'] as const) {
    const source = text[part];
    if (source == null) continue;
    const result = checkTemplate(source, c);
    if (!result.ok) problems.push(...result.problems.map((p) => ({ ...p, part })));
  }
  if (problems.length) throw campaignErrors.template_invalid(problems.map((p) => `${p.part}: ${p.message}`).join('; '), { problems });
}

/** Writes the template of a purpose, channel and language (a new one, or a new text for it). */
export async function saveTemplate(db: Db, ctx: Ctx, key: { purpose: string; channel: MessageChannel; language: string }, text: TemplateText) {
  if (key.channel === 'email' && !text.subject) throw campaignErrors.template_invalid('An email template needs a subject');
  if (key.channel === 'sms' && (text.subject || text.html)) throw campaignErrors.template_invalid('An SMS has neither subject nor HTML part');
  check(catalogue(key.purpose), text);
  const values = { subject: key.channel === 'email' ? text.subject ?? null : null, body: text.body, html: key.channel === 'email' ? text.html ?? null : null };
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(templates).values({ id: uuidv7(), ...key, ...values, createdBy: actorOf(ctx) })
      .onConflictDoUpdate({ target: [templates.purpose, templates.channel, templates.language], set: { ...values, updatedAt: sql`now()` } }).returning();
    await audit(tx, ctx, { action: 'message_template.saved', entityType: 'message_template', entityId: row!.id, details: key });
    return row!;
  });
}

export const listTemplates = (db: Db, purpose?: string) =>
  db.select().from(templates).where(purpose ? eq(templates.purpose, purpose) : undefined).orderBy(asc(templates.purpose), asc(templates.channel), asc(templates.language));

export const templatesFor = (tx: Tx, purpose: string, channel: MessageChannel) =>
  tx.select().from(templates).where(and(eq(templates.purpose, purpose), eq(templates.channel, channel)));

export type TemplateRow = typeof templates.$inferSelect;

/** The message a template makes with these values, in a locale and time zone. */
export function renderTemplate(t: Pick<TemplateRow, 'purpose' | 'channel' | 'subject' | 'body' | 'html'>, values: TemplateValues, where: { locale: string; timeZone: string }) {
  const options = { ...where, catalogue: catalogue(t.purpose) };
  const body = render(t.body, values, options);
  return {
    subject: t.subject === null ? null : render(t.subject, values, options),
    body: t.channel === 'sms' ? smsText(body) : body,
    html: t.html === null ? null : render(t.html, values, { ...options, html: true }),
  };
}

const SAMPLES: Record<string, unknown> = { money: { amount: 1250, currency: 'EUR' }, date: '2026-12-24', datetime: '2026-12-24T18:30:00Z', number: 3, text: 'Sample' };

/** A saved template rendered with sample values (or those given), with what an SMS costs in parts. */
export async function previewTemplate(db: Db, key: { purpose: string; channel: MessageChannel; language: string }, given: TemplateValues, where: { locale: string; timeZone: string }) {
  const [t] = await db.select().from(templates).where(and(eq(templates.purpose, key.purpose), eq(templates.channel, key.channel), eq(templates.language, key.language)));
  if (!t) throw campaignErrors.template_not_found();
  const values = { ...Object.fromEntries(Object.entries(catalogue(t.purpose)).map(([name, type]) => [name, SAMPLES[type]])), ...given };
  let message;
  try {
    message = renderTemplate(t, values, where);
  } catch (err) {
    // The caller's sample values, locale or time zone: theirs to correct.
    throw campaignErrors.preview_invalid((err as Error).message);
  }
  return { ...message, sms: key.channel === 'sms' ? smsPlan(message.body) : null };
}
