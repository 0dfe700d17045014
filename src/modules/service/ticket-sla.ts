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

/** Each target's clock: when it ran, its minutes, whether it is met; next response only while a customer's message waits. */
function clocks(targets: SlaTargets, t: TicketClock) {
  const running = runningSegments(t.history, t.now);
  return {
    first_response: { segments: clip(running, null, t.firstResponseAt), minutes: targets.firstResponseMinutes, met: t.firstResponseAt !== null },
    next_response: targets.nextResponseMinutes !== null && t.awaitingReplySince
      ? { segments: clip(running, t.awaitingReplySince, null), minutes: targets.nextResponseMinutes, met: false }
      : null,
    resolution: { segments: running, minutes: targets.resolutionMinutes, met: t.resolvedAt !== null },
  };
}

/** First response (until staff first answered in public), next response (a customer's message waiting), resolution. */
export function ticketSla(cal: Calendar, targets: SlaTargets, t: TicketClock): Record<Target, Measure | null> {
  const c = clocks(targets, t);
  const of = (x: ReturnType<typeof clocks>[Target]) => x && measure(cal, x.segments, x.minutes, targets.warnPercent, t.now, x.met);
  return { first_response: of(c.first_response), next_response: of(c.next_response), resolution: of(c.resolution) };
}

/**
 * When a target not met next reaches its warning or its breach, after `now`: the next time the
 * breach job needs to look at the ticket. Null when nothing can come without a change of the
 * ticket: every target met or breached, or the clock paused.
 */
export function nextSlaCheck(cal: Calendar, targets: SlaTargets, t: TicketClock): Date | null {
  let next: Date | null = null;
  for (const x of Object.values(clocks(targets, t))) {
    if (!x || x.met) continue;
    for (const minutes of [(x.minutes * targets.warnPercent) / 100, x.minutes]) {
      const at = minutes > 0 ? dueAt(cal, x.segments, minutes) : null;
      if (at && at > t.now && (!next || at < next)) next = at;
    }
  }
  return next;
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
