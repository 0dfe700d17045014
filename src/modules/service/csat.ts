import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, lt, sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import { actorOf, type Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { uuidv7 } from '../../platform/ids.js';
import { serviceErrors } from './errors.js';
import { csatSurveys, followUpTasks, tickets } from './tables.js';

type TicketRow = typeof tickets.$inferSelect;

/** A score this low opens a follow-up task for a supervisor. */
export const NEGATIVE_SCORE = 2;

// The token is 192 random bits: a plain hash is enough to keep a database reader from answering.
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * On each resolution of a ticket: a survey whose one-time token goes out in `ticket.csat_requested`
 * (messaging sends the link; the token is stored only as a hash). The agent it rates is whoever had
 * the ticket when it was resolved.
 */
export async function requestSurvey(tx: Tx, t: TicketRow, validDays: number) {
  const token = randomBytes(24).toString('base64url');
  const [survey] = await tx.insert(csatSurveys).values({
    id: uuidv7(), ticketId: t.id, resolution: t.reopenCount, tokenHash: hashOf(token), agentId: t.assigneeId, expiresAt: sql`now() + make_interval(days => ${validDays})`,
  }).onConflictDoNothing().returning();
  if (!survey) return;
  await emit(tx, 'ticket.csat_requested', {
    ticketId: t.id, number: t.number, customerId: t.customerId, language: t.language, surveyId: survey.id, token, expiresAt: survey.expiresAt,
  }, { aggregateId: t.id });
}

async function surveyOf(tx: Tx, token: string, lock = false) {
  // The survey alone is locked, in its own statement: a lock on the join would hold the ticket too, and wait for an agent's change of it.
  if (lock) await tx.select({ id: csatSurveys.id }).from(csatSurveys).where(eq(csatSurveys.tokenHash, hashOf(token))).for('update');
  const [found] = await tx.select({ survey: csatSurveys, number: tickets.number, subject: tickets.subject, customerId: tickets.customerId })
    .from(csatSurveys).innerJoin(tickets, eq(tickets.id, csatSurveys.ticketId)).where(eq(csatSurveys.tokenHash, hashOf(token)));
  if (!found) throw serviceErrors.survey_not_found();
  return found;
}

/** What the survey page shows to whoever holds the token. */
export async function surveyPage(db: Db, token: string) {
  const { survey, number, subject } = await surveyOf(db, token);
  return { ticketNumber: number, subject, expiresAt: survey.expiresAt, answered: survey.answeredAt !== null, expired: survey.expiresAt <= new Date() };
}

/** Answered once, before it expires; a negative answer opens a follow-up task for supervisors. */
export async function answerSurvey(db: Db, token: string, input: { score: number; comment?: string }) {
  return db.transaction(async (tx) => {
    const { survey, customerId } = await surveyOf(tx, token, true);
    if (survey.answeredAt) throw serviceErrors.survey_answered();
    if (survey.expiresAt <= new Date()) throw serviceErrors.survey_expired();
    const [answered] = await tx.update(csatSurveys).set({ score: input.score, comment: input.comment ?? null, answeredAt: sql`now()` })
      .where(eq(csatSurveys.id, survey.id)).returning();
    await emit(tx, 'ticket.csat_answered', { ticketId: survey.ticketId, customerId, surveyId: survey.id, agentId: survey.agentId, score: input.score }, { aggregateId: survey.ticketId });
    if (input.score <= NEGATIVE_SCORE) {
      const [task] = await tx.insert(followUpTasks).values({ id: uuidv7(), ticketId: survey.ticketId, surveyId: survey.id, kind: 'negative_csat' }).returning();
      await emit(tx, 'ticket.follow_up_opened', { taskId: task!.id, ticketId: survey.ticketId, customerId, score: input.score, agentId: survey.agentId }, { aggregateId: survey.ticketId });
    }
    return { score: answered!.score!, answeredAt: answered!.answeredAt! };
  });
}

/** For agents: the surveys of a ticket (never their tokens). */
export async function surveysOfTicket(db: Db, ticketId: string) {
  return db.select({
    id: csatSurveys.id, resolution: csatSurveys.resolution, agentId: csatSurveys.agentId, expiresAt: csatSurveys.expiresAt,
    score: csatSurveys.score, comment: csatSurveys.comment, answeredAt: csatSurveys.answeredAt, createdAt: csatSurveys.createdAt,
  }).from(csatSurveys).where(eq(csatSurveys.ticketId, ticketId)).orderBy(asc(csatSurveys.resolution));
}

export async function listFollowUps(db: Db, q: { status?: 'open' | 'done'; limit: number; before?: string }) {
  return db.select().from(followUpTasks).where(and(q.status ? eq(followUpTasks.status, q.status) : undefined, q.before ? lt(followUpTasks.id, q.before) : undefined))
    .orderBy(sql`${followUpTasks.id} desc`).limit(q.limit + 1);
}

/** A supervisor closes the loop: what was done with the unhappy customer. */
export async function completeFollowUp(db: Db, ctx: Ctx, id: string, outcome: string) {
  return db.transaction(async (tx) => {
    const [task] = await tx.update(followUpTasks).set({ status: 'done', outcome, doneAt: sql`now()`, doneBy: actorOf(ctx), assigneeId: sql`coalesce(${followUpTasks.assigneeId}, ${actorOf(ctx)})` })
      .where(and(eq(followUpTasks.id, id), eq(followUpTasks.status, 'open'))).returning();
    if (!task) {
      const [known] = await tx.select({ id: followUpTasks.id }).from(followUpTasks).where(eq(followUpTasks.id, id));
      throw known ? serviceErrors.follow_up_done() : serviceErrors.follow_up_not_found();
    }
    await emit(tx, 'ticket.follow_up_done', { taskId: id, ticketId: task.ticketId, outcome }, { aggregateId: task.ticketId, requestId: ctx.requestId });
    await audit(tx, ctx, { action: 'follow_up.done', entityType: 'ticket', entityId: task.ticketId, details: { taskId: id, outcome } });
    return task;
  });
}
