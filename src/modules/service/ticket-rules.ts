/**
 * Ticket lifecycle rules: pure, no I/O. new → open → pending ⇄ open → resolved → closed; a
 * resolved ticket reopens within the window, a closed one never does.
 */
import type { TicketStatus } from './tables.js';

const MOVES: Record<TicketStatus, TicketStatus[]> = {
  new: ['open', 'pending', 'resolved'],
  open: ['pending', 'resolved'],
  pending: ['open', 'resolved'],
  resolved: ['open', 'closed'],
  closed: [],
};

export type Refusal = 'ticket_closed' | 'reopen_window_passed' | 'transition_not_allowed';

/** Why a ticket may not go from `from` to `to` now, or null when it may. */
export function refusal(from: TicketStatus, to: TicketStatus, t: { resolvedAt: Date | null; now: Date; reopenWindowMs: number }): Refusal | null {
  if (from === 'closed') return 'ticket_closed';
  if (!MOVES[from].includes(to)) return 'transition_not_allowed';
  if (from === 'resolved' && to === 'open' && t.resolvedAt && t.now.getTime() - t.resolvedAt.getTime() > t.reopenWindowMs) return 'reopen_window_passed';
  return null;
}

/**
 * What a customer's public reply does to the ticket: one waiting on the customer (or resolved,
 * within the window) opens again, and its SLA clock runs again.
 */
export function afterCustomerReply(status: TicketStatus, pendingOn: string | null): TicketStatus | null {
  if (status === 'pending' && pendingOn === 'customer') return 'open';
  if (status === 'resolved') return 'open';
  return null;
}

/** The first triage rule whose keyword is in the text as a whole word or phrase (without case), by position. */
export function triage<R extends { keyword: string }>(rules: R[], text: string): R | undefined {
  const word = (k: string) => new RegExp(`(?<![\\p{L}\\p{N}])${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\p{N}])`, 'iu');
  return rules.find((r) => word(r.keyword).test(text));
}

/**
 * The queue of a new ticket: the first rule (by position) whose service type, language and
 * segment each fit or are left open; none fits: the queue named after the service type.
 */
export function chooseQueue(rules: { serviceType: string | null; language: string | null; segment: string | null; queue: string }[], t: { serviceType: string; language: string; segment: string }) {
  const fits = (v: string | null, actual: string) => v === null || v === actual;
  return rules.find((r) => fits(r.serviceType, t.serviceType) && fits(r.language, t.language) && fits(r.segment, t.segment))?.queue ?? t.serviceType;
}

export const TIER_ORDER = ['agent', 'supervisor', 'specialist', 'management'] as const;
export type TierName = (typeof TIER_ORDER)[number];

export type EscalationTrigger =
  | { kind: 'sla_warning' | 'sla_breached'; target: string }
  | { kind: 'segment'; segment: string }
  | { kind: 'recurring' };

interface RuleLike { id: string; trigger: string; target: string | null; segment: string | null; serviceType: string | null; tier: TierName }

/**
 * The tier the rules send a ticket to for what happened, and the rule that does: the highest tier
 * among the rules that match (trigger, target or any, segment, service type or any); null when
 * none would move it up from where it is.
 */
export function escalationFor<R extends RuleLike>(rules: R[], t: { serviceType: string; tier: TierName }, e: EscalationTrigger): R | null {
  const rank = (tier: TierName) => TIER_ORDER.indexOf(tier);
  const best = rules
    .filter((r) => r.trigger === e.kind && (r.serviceType === null || r.serviceType === t.serviceType)
      && (e.kind === 'segment' ? r.segment === e.segment : true)
      && (e.kind === 'sla_warning' || e.kind === 'sla_breached' ? r.target === null || r.target === e.target : true))
    .sort((a, b) => rank(b.tier) - rank(a.tier) || (a.id < b.id ? -1 : 1))[0];
  return best && rank(best.tier) > rank(t.tier) ? best : null;
}
