import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { requireLink, unsubscribe, type UnsubscribeLinks } from './unsubscribe.js';

const tags = ['campaigns'];
const params = z.object({ token: z.string().min(1).max(200).describe('The token from the List-Unsubscribe link of a marketing email') });
// Anyone holding a link may try tokens: slow them down (an HMAC-SHA-256 is not guessable anyway).
const publicLimit = { max: 60, timeWindow: '1 minute' };

/**
 * The fields of a small HTML form, as RFC 8058 mail providers POST it: urlencoded or multipart
 * (text fields only; anything it cannot read is no field). An empty body is no fields.
 */
function formFields(contentType: string, body: string): Record<string, string> {
  if (!contentType.toLowerCase().startsWith('multipart/')) return Object.fromEntries(new URLSearchParams(body));
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!boundary) return {};
  const fields: Record<string, string> = {};
  for (const part of body.split(`--${boundary[1] ?? boundary[2]}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(part.slice(0, split));
    if (name) fields[name[1]!] = part.slice(split + 4).replace(/\r\n$/, '');
  }
  return fields;
}

const page = (title: string, inner: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}button{font:inherit;padding:.6rem 1.2rem;cursor:pointer}</style>
</head><body><h1>${title}</h1>
${inner}
</body></html>
`;

// No action: the form posts back to the link it was opened from.
const confirmPage = page('Unsubscribe from marketing email', `<p>Press the button to stop receiving offers and news from us by email.
Messages about your account, bills and service keep coming.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`);
const donePage = page('You are unsubscribed', '<p>You will receive no more offers or news from us by email. Messages about your account, bills and service keep coming.</p>');

/** A person's browser (the form above) asks for a page; a mail provider's one-click POST gets JSON. */
const wantsHtml = (req: FastifyRequest) => /\btext\/html\b/i.test(req.headers.accept ?? '');

/**
 * One-click unsubscribe from marketing email (RFC 8058), without login: the link in the mail's
 * List-Unsubscribe header is the credential. GET shows a page with a button and changes nothing
 * (link scanners and previews fetch links); POST, as mail providers send it, withdraws consent.
 */
export const unsubscribeRoutes: FastifyPluginAsyncZod<{ db: Db; unsubscribe: UnsubscribeLinks }> = async (app, { db, unsubscribe: links }) => {
  // Form bodies are for these routes only: this plugin is not wrapped, so the parsers stay in its scope.
  for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (req, body, done) => done(null, formFields(String(req.headers['content-type']), body as string)));
  }

  app.get('/v1/unsubscribe/:token', {
    config: { auth: 'public', rateLimit: publicLimit },
    schema: {
      operationId: 'getUnsubscribePage', tags, summary: 'The page behind a marketing email\'s unsubscribe link: a button that POSTs the one-click form; opening it changes nothing', params,
      response: { 200: { description: 'An HTML page', content: { 'text/html': { schema: z.string() } } }, ...problems(400, 404) },
    },
  }, async (req, reply) => {
    requireLink(links, req.params.token);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(confirmPage);
  });

  app.post('/v1/unsubscribe/:token', {
    config: { auth: 'public', rateLimit: publicLimit },
    bodyLimit: 8192,
    // No body at all is no fields too.
    preValidation: async (req) => { req.body ??= {}; },
    schema: {
      operationId: 'unsubscribe', tags,
      summary: 'One-click unsubscribe (RFC 8058): withdraws the email marketing consent of the customer the mail went to; again, it answers the same and records nothing more',
      description: 'Mail providers send the form body `List-Unsubscribe=One-Click` (urlencoded or multipart); an empty body is accepted too. '
        + 'A browser (Accept: text/html) gets a confirmation page instead of JSON.',
      consumes: ['application/x-www-form-urlencoded', 'multipart/form-data', 'application/json'],
      params, body: z.object({ 'List-Unsubscribe': z.literal('One-Click').optional() }),
      response: {
        200: { description: 'Unsubscribed', content: { 'application/json': { schema: z.object({ unsubscribed: z.literal(true) }) }, 'text/html': { schema: z.string() } } },
        ...problems(400, 404),
      },
    },
  }, async (req, reply) => {
    await unsubscribe(db, links, req.params.token);
    reply.header('cache-control', 'no-store');
    return wantsHtml(req) ? reply.type('text/html; charset=utf-8').send(donePage) : reply.send({ unsubscribed: true as const });
  });
};
