import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ctxOf } from '../../platform/auth/guard.js';
import type { Db } from '../../platform/db/client.js';
import { problems } from '../../platform/http/errors.js';
import { editArticle, getArticle, type Language, searchArticles, writeArticle } from './articles.js';
import { articleLanguages } from './tables.js';

const tags = ['service'];
const id = z.uuid();
const language = z.enum(Object.keys(articleLanguages) as [Language, ...Language[]]);
const slug = z.string().trim().min(3).max(100).regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and -');
const topic = z.string().trim().min(2).max(40).regex(/^[a-z0-9_]+$/).describe('e.g. billing, sim_activation, device_troubleshooting');
const articleView = z.object({
  id, slug: z.string(), language, title: z.string(), body: z.string(), topic: z.string(), visibility: z.enum(['public', 'internal']), status: z.enum(['draft', 'published']),
  createdBy: z.string(), createdAt: z.date(), updatedAt: z.date(), publishedAt: z.date().nullable(),
});
const publicView = articleView.pick({ slug: true, language: true, title: true, body: true, topic: true, publishedAt: true });
const search = z.object({ language: language.default('en'), q: z.string().trim().min(1).max(200).optional().describe('Words, as people type them'), topic: topic.optional(), limit: z.coerce.number().int().min(1).max(50).default(20) });

export const articleRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post('/v1/kb-articles', {
    config: { auth: 'service:configure' },
    schema: {
      operationId: 'writeArticle', tags, summary: 'A knowledge-base article in one language (a translation is the same slug in another), as a draft',
      body: z.object({ slug, language, title: z.string().trim().min(3).max(200), body: z.string().trim().min(1).max(50_000), topic, visibility: z.enum(['public', 'internal']) }).strict(),
      response: { 201: articleView, ...problems(400, 409) },
    },
  }, async (req, reply) => reply.status(201).send(await writeArticle(db, ctxOf(req), req.body)));

  app.patch('/v1/kb-articles/:id', {
    config: { auth: 'service:configure' },
    schema: {
      operationId: 'editArticle', tags, summary: 'Edit, publish or withdraw (status draft) an article', params: z.object({ id }),
      body: z.object({ title: z.string().trim().min(3).max(200), body: z.string().trim().min(1).max(50_000), topic, visibility: z.enum(['public', 'internal']), status: z.enum(['draft', 'published']) })
        .partial().strict(),
      response: { 200: articleView, ...problems(400, 404) },
    },
  }, async (req) => editArticle(db, ctxOf(req), req.params.id, req.body));

  app.get('/v1/kb-articles', {
    config: { auth: 'service:agent_read' },
    schema: { operationId: 'searchArticles', tags, summary: 'Agents\' search: every article, drafts and internal ones included, best match first', querystring: search, response: { 200: z.object({ items: z.array(articleView) }), ...problems(400) } },
  }, async (req) => ({ items: await searchArticles(db, { language: req.query.language, words: req.query.q, topic: req.query.topic, audience: 'agents', limit: req.query.limit }) }));

  app.get('/v1/help/articles', {
    config: { auth: 'public', rateLimit: { max: 120, timeWindow: '1 minute' } },
    schema: { operationId: 'searchHelpArticles', tags, summary: 'Public help: published public articles, searched in their language, without login', querystring: search, response: { 200: z.object({ items: z.array(publicView) }), ...problems(400) } },
  }, async (req) => ({ items: await searchArticles(db, { language: req.query.language, words: req.query.q, topic: req.query.topic, audience: 'public', limit: req.query.limit }) }));

  app.get('/v1/help/articles/:language/:slug', {
    config: { auth: 'public', rateLimit: { max: 120, timeWindow: '1 minute' } },
    schema: { operationId: 'getHelpArticle', tags, summary: 'A published public article', params: z.object({ language, slug }), response: { 200: publicView, ...problems(400, 404) } },
  }, async (req) => getArticle(db, { slug: req.params.slug, language: req.params.language }, 'public'));
};
