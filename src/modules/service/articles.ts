import { and, desc, eq, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db } from '../../platform/db/client.js';
import { serviceErrors } from './errors.js';
import { uuidv7 } from '../../platform/ids.js';
import { articleLanguages, articles } from './tables.js';

type Article = typeof articles.$inferSelect;
export type Language = keyof typeof articleLanguages;
export type NewArticle = Pick<Article, 'slug' | 'title' | 'body' | 'topic' | 'visibility'> & { language: Language };
const columns = {
  id: articles.id, slug: articles.slug, language: articles.language, title: articles.title, body: articles.body, topic: articles.topic, visibility: articles.visibility,
  status: articles.status, createdBy: articles.createdBy, createdAt: articles.createdAt, updatedAt: articles.updatedAt, publishedAt: articles.publishedAt,
};

export async function writeArticle(db: Db, ctx: Ctx, input: NewArticle) {
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(articles).values({ ...input, id: uuidv7(), createdBy: actorOf(ctx) }).onConflictDoNothing().returning(columns);
    if (!row) throw serviceErrors.article_exists(`An article ${input.slug} in ${input.language} exists already: edit it`);
    await audit(tx, ctx, { action: 'article.written', entityType: 'article', entityId: row.id, details: { slug: input.slug, language: input.language } });
    return row;
  });
}

/** An edit; a published article stays published with its new text. */
export async function editArticle(db: Db, ctx: Ctx, id: string, patch: Partial<Pick<Article, 'title' | 'body' | 'topic' | 'visibility'>> & { status?: Article['status'] }) {
  return db.transaction(async (tx) => {
    const [row] = await tx.update(articles).set({
      ...patch, updatedAt: sql`now()`, ...(patch.status === 'published' ? { publishedAt: sql`coalesce(${articles.publishedAt}, now())` } : {}),
    }).where(eq(articles.id, id)).returning(columns);
    if (!row) throw serviceErrors.article_not_found();
    await audit(tx, ctx, { action: 'article.edited', entityType: 'article', entityId: id, details: { fields: Object.keys(patch) } });
    return row;
  });
}

/**
 * Full-text search in one language, with its dictionary (so "charges" finds "charged"), best match
 * first; without words, the newest. Agents see drafts and internal articles; the public sees
 * published public ones only.
 */
export async function searchArticles(db: Db, q: { language: Language; words?: string; topic?: string; audience: 'agents' | 'public'; limit: number }) {
  const dictionary = sql.raw(`'${articleLanguages[q.language]}'::regconfig`);
  const query = q.words ? sql`websearch_to_tsquery(${dictionary}, ${q.words})` : null;
  return db.select(columns).from(articles).where(and(
    eq(articles.language, q.language), q.topic ? eq(articles.topic, q.topic) : undefined,
    q.audience === 'public' ? and(eq(articles.status, 'published'), eq(articles.visibility, 'public')) : undefined,
    query ? sql`${articles.search} @@ ${query}` : undefined,
  )).orderBy(...(query ? [sql`ts_rank(${articles.search}, ${query}) desc`, desc(articles.id)] : [desc(articles.id)])).limit(q.limit);
}

export async function getArticle(db: Db, where: { id?: string; slug?: string; language?: Language }, audience: 'agents' | 'public') {
  const [row] = await db.select(columns).from(articles).where(and(
    where.id ? eq(articles.id, where.id) : and(eq(articles.slug, where.slug!), eq(articles.language, where.language!)),
    audience === 'public' ? and(eq(articles.status, 'published'), eq(articles.visibility, 'public')) : undefined,
  ));
  if (!row) throw serviceErrors.article_not_found();
  return row;
}
