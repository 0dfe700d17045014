/**
 * A ticket's SLA targets measured on its history: pure, no I/O. Every measure runs on the same
 * clock (paused while pending, stopped once resolved), so changing the policy or the category
 * recomputes every due time from the ticket's history, not from the moment of the change.
 */
import { type Calendar, type ClockSegment, dueAt, elapsed, runningSegments, slaState, type SlaState } from './sla-rules.js';

export interface SlaTargets { firstResponseMinutes: number; nextResponseMinutes: number | null; resolutionMinutes: number; warnPercent: number }

export interface TicketClock {
  history: { status: string; at: Date }[];
  /** The first public reply by staff. */
  firstResponseAt: Date | null;
  /** The customer's last public message that no staff reply has answered yet. */
  awaitingReplySince: Date | null;
  resolvedAt: Date | null;
  now: Date;
}

export interface Measure { targetMinutes: number; elapsedMinutes: number; dueAt: Date | null; state: SlaState; met: boolean }
export type Target = 'first_response' | 'next_response' | 'resolution';

/** The running segments between two instants only. */
export function clip(segments: ClockSegment[], from: Date | null, to: Date | null): ClockSegment[] {
  return segments.flatMap((s) => {
    const start = from && s.from < from ? from : s.from;
    const end = to && (s.to === null || s.to > to) ? to : s.to;
    return end !== null && end <= start ? [] : [{ from: start, to: end }];
  });
}

function measure(cal: Calendar, segments: ClockSegment[], target: number, warn: number, now: Date, met: boolean): Measure {
  const ms = elapsed(cal, segments, now);
  return { targetMinutes: target, elapsedMinutes: Math.floor(ms / 60_000), dueAt: dueAt(cal, segments, target), state: slaState(ms, target, warn), met };
}

/** First response (until staff first answered in public), next response (a customer's message waiting), resolution. */
export function ticketSla(cal: Calendar, targets: SlaTargets, t: TicketClock): Record<Target, Measure | null> {
  const running = runningSegments(t.history, t.now);
  return {
    first_response: measure(cal, clip(running, null, t.firstResponseAt), targets.firstResponseMinutes, targets.warnPercent, t.now, t.firstResponseAt !== null),
    next_response: targets.nextResponseMinutes !== null && t.awaitingReplySince
      ? measure(cal, clip(running, t.awaitingReplySince, null), targets.nextResponseMinutes, targets.warnPercent, t.now, false)
      : null,
    resolution: measure(cal, running, targets.resolutionMinutes, targets.warnPercent, t.now, t.resolvedAt !== null),
  };
}

/**
 * The most specific policy for a ticket: each of service type, priority and segment either
 * matches or is left open on the policy; more matched fields win, then the lower position.
 */
export function choosePolicy<P extends { serviceType: string | null; priority: string | null; segment: string | null; position: number; id: string }>(
  policies: P[], t: { serviceType: string; priority: string; segment: string },
): P | undefined {
  const fits = (p: P) => (p.serviceType === null || p.serviceType === t.serviceType) && (p.priority === null || p.priority === t.priority) && (p.segment === null || p.segment === t.segment);
  const score = (p: P) => Number(p.serviceType !== null) + Number(p.priority !== null) + Number(p.segment !== null);
  return policies.filter(fits).sort((a, b) => score(b) - score(a) || a.position - b.position || (a.id < b.id ? -1 : 1))[0];
}
