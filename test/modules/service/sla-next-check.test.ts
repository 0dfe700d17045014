import { describe, expect, it } from 'vitest';
import type { Calendar } from '../../../src/modules/service/sla-rules.js';
import { nextSlaCheck, type TicketClock } from '../../../src/modules/service/ticket-sla.js';

// When the breach job must look at a ticket again. 2026-01-05 is a Monday.
const h24: Calendar = { kind: '24x7' };
const office: Calendar = { kind: 'business', timeZone: 'Europe/Berlin', holidays: [], hours: { 1: [{ from: '08:00', to: '18:00' }], 2: [{ from: '08:00', to: '18:00' }] } };
const targets = { firstResponseMinutes: 30, nextResponseMinutes: 60, resolutionMinutes: 600, warnPercent: 50 };
const opened = new Date('2026-01-05T09:00:00Z');
const min = (n: number) => new Date(opened.getTime() + n * 60_000);
const clock = (now: number, more: Partial<TicketClock> = {}): TicketClock => ({
  history: [{ status: 'new', at: opened }], firstResponseAt: null, awaitingReplySince: null, resolvedAt: null, now: min(now), ...more,
});

describe('nextSlaCheck', () => {
  it.each([
    ['just opened: the first response\'s warning (50 % of 30 min)', h24, clock(0), min(15)],
    ['warned: the first response\'s breach', h24, clock(20), min(30)],
    ['first response breached: the resolution\'s warning (50 % of 600 min)', h24, clock(40), min(300)],
    ['first response given: the resolution alone', h24, clock(5, { firstResponseAt: min(2) }), min(300)],
    ['a customer message waiting: its next response warns first', h24, clock(50, { firstResponseAt: min(2), awaitingReplySince: min(45) }), min(75)],
    ['every target breached: none', h24, clock(700), null],
    ['pending: the clock stands still, none', h24, clock(20, { history: [{ status: 'new', at: opened }, { status: 'pending', at: min(5) }] }), null],
    ['a warning exactly now is this run\'s: the breach next', h24, clock(15), min(30)],
    // Opened 17:50 Berlin (16:50Z) on Monday: 10 working minutes that day, the rest on Tuesday from 08:00 (07:00Z).
    ['on the office calendar, across the night', office, { ...clock(0), history: [{ status: 'new', at: new Date('2026-01-05T16:50:00Z') }], now: new Date('2026-01-05T16:50:00Z') }, new Date('2026-01-06T07:05:00Z')],
  ])('%s', (_, cal, at, expected) => {
    expect(nextSlaCheck(cal, targets, at)).toEqual(expected);
  });
});
