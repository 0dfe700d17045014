import { describe, expect, it } from 'vitest';
import {
  addWorkingMs, dueAt, elapsed, runningSegments, slaState, workingMs,
  type Calendar, type ClockSegment,
} from '../../../src/modules/service/sla-rules.js';

// Instants are written with their local offset (+01:00 = CET, +02:00 = CEST) so each case can be
// checked by hand. 2026: Jan 5 is a Monday; Berlin springs forward Sun Mar 29 (02:00 → 03:00) and
// falls back Sun Oct 25 (03:00 → 02:00); New York springs forward Sun Mar 8.
const d = (iso: string) => new Date(iso);
const H = 3_600_000, M = 60_000;
const weekdays = (from: string, to: string) => ({ 1: [{ from, to }], 2: [{ from, to }], 3: [{ from, to }], 4: [{ from, to }], 5: [{ from, to }] });
const everyDay = (from: string, to: string) => ({ ...weekdays(from, to), 6: [{ from, to }], 7: [{ from, to }] });

const h24: Calendar = { kind: '24x7' };
// Good Friday, Easter Monday, Christmas (the 26th is a Saturday in 2026).
const berlin: Calendar = { kind: 'business', timeZone: 'Europe/Berlin', hours: weekdays('08:00', '18:00'), holidays: ['2026-04-03', '2026-04-06', '2026-12-25', '2026-12-26'] };
const lunch: Calendar = { kind: 'business', timeZone: 'Europe/Berlin', holidays: [], hours: { 1: [{ from: '13:00', to: '17:00' }, { from: '09:00', to: '12:00' }] } };
const berlinAllDay: Calendar = { kind: 'business', timeZone: 'Europe/Berlin', hours: everyDay('00:00', '24:00'), holidays: [] };
const berlinSunday = (from: string, to: string): Calendar => ({ kind: 'business', timeZone: 'Europe/Berlin', hours: { 7: [{ from, to }] }, holidays: [] });
const nightShift: Calendar = { kind: 'business', timeZone: 'Europe/Berlin', holidays: [], hours: { 1: [{ from: '22:00', to: '24:00' }], 2: [{ from: '00:00', to: '06:00' }] } };
const newYork: Calendar = { kind: 'business', timeZone: 'America/New_York', hours: weekdays('09:00', '17:00'), holidays: [] };
const kolkata: Calendar = { kind: 'business', timeZone: 'Asia/Kolkata', hours: weekdays('09:30', '18:00'), holidays: [] };
const allDay = (timeZone: string): Calendar => ({ kind: 'business', timeZone, hours: everyDay('00:00', '24:00'), holidays: [] });

describe('workingMs', () => {
  it.each<[string, Calendar, string, string, number]>([
    ['24/7 counts plain elapsed time', h24, '2026-01-05T10:00:00Z', '2026-01-05T11:30:00Z', 1.5 * H],
    ['24/7 runs across midnight', h24, '2026-01-05T23:00:00Z', '2026-01-06T01:00:00Z', 2 * H],
    ['24/7 counts the real 23 h across a spring-forward night, not wall-clock hours', h24, '2026-03-28T12:00:00+01:00', '2026-03-29T12:00:00+02:00', 23 * H],
    ['an empty span is 0', h24, '2026-01-05T10:00:00Z', '2026-01-05T10:00:00Z', 0],
    ['a span that ends before it starts is 0, not negative', berlin, '2026-01-05T11:00:00+01:00', '2026-01-05T09:00:00+01:00', 0],
    ['inside one working day', berlin, '2026-01-05T09:00:00+01:00', '2026-01-05T11:00:00+01:00', 2 * H],
    ['time before opening does not count', berlin, '2026-01-05T06:00:00+01:00', '2026-01-05T09:00:00+01:00', 1 * H],
    ['time after closing does not count', berlin, '2026-01-05T17:00:00+01:00', '2026-01-05T23:00:00+01:00', 1 * H],
    ['overnight: only the evening and the morning count', berlin, '2026-01-05T17:00:00+01:00', '2026-01-06T09:00:00+01:00', 2 * H],
    ['weekend: Friday evening to Monday morning is two hours', berlin, '2026-01-09T17:00:00+01:00', '2026-01-12T09:00:00+01:00', 2 * H],
    ['a span entirely within the weekend is 0', berlin, '2026-01-10T10:00:00+01:00', '2026-01-11T20:00:00+01:00', 0],
    ['a full week is five ten-hour days', berlin, '2026-01-05T00:00:00+01:00', '2026-01-12T00:00:00+01:00', 50 * H],
    ['a holiday (Christmas Friday) is closed all day', berlin, '2026-12-24T17:00:00+01:00', '2026-12-28T09:00:00+01:00', 2 * H],
    ['two holidays around Easter weekend are skipped', berlin, '2026-04-02T17:00:00+02:00', '2026-04-07T09:00:00+02:00', 2 * H],
    ['a span starting on a holiday counts from the next working day', berlin, '2026-04-03T10:00:00+02:00', '2026-04-07T10:00:00+02:00', 2 * H],
    ['a whole year: 261 weekdays less 3 weekday holidays, 10 h each', berlin, '2026-01-01T00:00:00+01:00', '2027-01-01T00:00:00+01:00', 2580 * H],
    ['a weekend with a spring-forward night changes nothing', berlin, '2026-03-27T17:00:00+01:00', '2026-03-30T09:00:00+02:00', 2 * H],
    ['a weekend with a fall-back night changes nothing', berlin, '2026-10-23T17:00:00+02:00', '2026-10-26T09:00:00+01:00', 2 * H],
    ['the working week across spring-forward still has 10 h days (CET then CEST)', berlin, '2026-03-27T08:00:00+01:00', '2026-03-30T18:00:00+02:00', 20 * H],
    ['08:00–18:00 is 10 h on the spring-forward Sunday', berlinSunday('08:00', '18:00'), '2026-03-29T00:00:00+01:00', '2026-03-30T00:00:00+02:00', 10 * H],
    ['08:00–18:00 is 10 h on the fall-back Sunday', berlinSunday('08:00', '18:00'), '2026-10-25T00:00:00+02:00', '2026-10-26T00:00:00+01:00', 10 * H],
    ['a whole day is 23 h on the spring-forward Sunday', berlinAllDay, '2026-03-29T00:00:00+01:00', '2026-03-30T00:00:00+02:00', 23 * H],
    ['a whole day is 25 h on the fall-back Sunday', berlinAllDay, '2026-10-25T00:00:00+02:00', '2026-10-26T00:00:00+01:00', 25 * H],
    ['01:00–04:00 loses the missing hour in spring', berlinSunday('01:00', '04:00'), '2026-03-29T00:00:00+01:00', '2026-03-30T00:00:00+02:00', 2 * H],
    ['01:00–04:00 gains the repeated hour in autumn', berlinSunday('01:00', '04:00'), '2026-10-25T00:00:00+02:00', '2026-10-26T00:00:00+01:00', 4 * H],
    ['a range wholly inside the spring gap is empty', berlinSunday('02:15', '02:45'), '2026-03-29T00:00:00+01:00', '2026-03-30T00:00:00+02:00', 0],
    ['a range starting inside the gap starts at the jump (03:00 CEST)', berlinSunday('02:30', '04:00'), '2026-03-29T00:00:00+01:00', '2026-03-30T00:00:00+02:00', 1 * H],
    ['a time inside the repeated hour is its first occurrence (start and end)', berlinSunday('02:00', '02:30'), '2026-10-25T00:00:00+02:00', '2026-10-26T00:00:00+01:00', 30 * M],
    ['a range ending inside the repeated hour ends at its first occurrence', berlinSunday('00:00', '02:30'), '2026-10-25T00:00:00+02:00', '2026-10-26T00:00:00+01:00', 2.5 * H],
    ['clipping inside the repeated hour counts real time (second 02:15 to 04:00 CET)', berlinSunday('01:00', '04:00'), '2026-10-25T02:15:00+01:00', '2026-10-26T00:00:00+01:00', 1.75 * H],
    ['New York across its own (earlier) spring-forward', newYork, '2026-03-06T16:00:00-05:00', '2026-03-09T10:00:00-04:00', 2 * H],
    ['a half-hour offset zone (Kolkata) without DST', kolkata, '2026-01-05T04:00:00Z', '2026-01-05T12:30:00Z', 8.5 * H],
    ['a lunch break does not count (ranges given out of order)', lunch, '2026-01-05T11:00:00+01:00', '2026-01-05T14:00:00+01:00', 2 * H],
    ['overnight shift written as two ranges on two days counts across midnight', nightShift, '2026-01-05T23:00:00+01:00', '2026-01-06T01:00:00+01:00', 2 * H],
    ['the whole overnight shift is 8 h', nightShift, '2026-01-05T12:00:00+01:00', '2026-01-06T12:00:00+01:00', 8 * H],
    ['Santiago springs forward at midnight: the day starts at the jump, 23 h', allDay('America/Santiago'), '2026-09-06T01:00:00-03:00', '2026-09-07T00:00:00-03:00', 23 * H],
    ['Santiago falls back at midnight: the day before has 25 h', allDay('America/Santiago'), '2026-04-04T00:00:00-03:00', '2026-04-05T00:00:00-04:00', 25 * H],
    ['Sydney (southern hemisphere) falls back in April: 25 h', allDay('Australia/Sydney'), '2026-04-05T00:00:00+11:00', '2026-04-06T00:00:00+10:00', 25 * H],
    ['Lord Howe shifts by half an hour: 24.5 h', allDay('Australia/Lord_Howe'), '2026-04-05T00:00:00+11:00', '2026-04-06T00:00:00+10:30', 24.5 * H],
  ])('%s', (_what, cal, from, to, expected) => {
    expect(workingMs(cal, d(from), d(to))).toBe(expected);
  });
});

describe('addWorkingMs', () => {
  it.each<[string, Calendar, string, number, string]>([
    ['24/7 runs across midnight', h24, '2026-01-05T22:00:00Z', 4 * H, '2026-01-06T02:00:00Z'],
    ['24/7 with nothing to add is the start itself', h24, '2026-01-05T22:00:00Z', 0, '2026-01-05T22:00:00Z'],
    ['within the working day', berlin, '2026-01-05T09:00:00+01:00', 2 * H, '2026-01-05T11:00:00+01:00'],
    ['nothing to add during working time is the start itself', berlin, '2026-01-05T09:00:00+01:00', 0, '2026-01-05T09:00:00+01:00'],
    ['nothing to add outside working time is the next opening', berlin, '2026-01-10T10:00:00+01:00', 0, '2026-01-12T08:00:00+01:00'],
    ['a closing instant is not working time', berlin, '2026-01-05T18:00:00+01:00', 0, '2026-01-06T08:00:00+01:00'],
    ['work that fills the day exactly is due at closing, not next morning', berlin, '2026-01-05T08:00:00+01:00', 10 * H, '2026-01-05T18:00:00+01:00'],
    ['overnight: the rest carries to the next morning', berlin, '2026-01-05T17:00:00+01:00', 2 * H, '2026-01-06T09:00:00+01:00'],
    ['before opening: counting starts at opening', berlin, '2026-01-05T03:00:00+01:00', 1 * H, '2026-01-05T09:00:00+01:00'],
    ['weekend: Friday evening plus 2 h is Monday 09:00', berlin, '2026-01-09T17:00:00+01:00', 2 * H, '2026-01-12T09:00:00+01:00'],
    ['a target of several days spans nights and a weekend', berlin, '2026-01-08T08:00:00+01:00', 25 * H, '2026-01-12T13:00:00+01:00'],
    ['a holiday is skipped', berlin, '2026-12-24T17:00:00+01:00', 2 * H, '2026-12-28T09:00:00+01:00'],
    ['across a spring-forward weekend Monday 09:00 is CEST', berlin, '2026-03-27T17:00:00+01:00', 2 * H, '2026-03-30T09:00:00+02:00'],
    ['across a fall-back weekend Monday 09:00 is CET', berlin, '2026-10-23T17:00:00+02:00', 2 * H, '2026-10-26T09:00:00+01:00'],
    ['on a whole-day calendar 24 h from Saturday noon ends Sunday 13:00 in spring', berlinAllDay, '2026-03-28T12:00:00+01:00', 24 * H, '2026-03-29T13:00:00+02:00'],
    ['on a whole-day calendar 24 h from Saturday noon ends Sunday 11:00 in autumn', berlinAllDay, '2026-10-24T12:00:00+02:00', 24 * H, '2026-10-25T11:00:00+01:00'],
    ['a lunch break is skipped', lunch, '2026-01-05T11:30:00+01:00', 1 * H, '2026-01-05T13:30:00+01:00'],
    ['the overnight shift continues after midnight', nightShift, '2026-01-05T23:00:00+01:00', 3 * H, '2026-01-06T02:00:00+01:00'],
    ['after the overnight shift the next one is a week later', nightShift, '2026-01-06T05:00:00+01:00', 2 * H, '2026-01-12T23:00:00+01:00'],
    ['New York across its spring-forward weekend', newYork, '2026-03-06T16:00:00-05:00', 2 * H, '2026-03-09T10:00:00-04:00'],
  ])('%s', (_what, cal, from, ms, expected) => {
    expect(addWorkingMs(cal, d(from), ms).toISOString()).toBe(d(expected).toISOString());
  });

  it.each<[string, Calendar, string, number]>([
    ['24/7', h24, '2026-03-28T20:00:00Z', 30 * H],
    ['business weekdays over Easter', berlin, '2026-04-01T12:34:00+02:00', 37 * H + 17 * M],
    ['business weekdays from a Sunday over fall-back', berlin, '2026-10-25T02:30:00+01:00', 61 * H],
    ['lunch breaks over weeks', lunch, '2026-01-01T00:00:00+01:00', 20 * H + 1],
    ['overnight shifts', nightShift, '2026-01-05T22:59:59+01:00', 17 * H],
    ['whole days over spring-forward', berlinAllDay, '2026-03-28T22:00:00+01:00', 27 * H],
  ])('round trip: working time up to the result is what was added (%s)', (_what, cal, from, ms) => {
    expect(workingMs(cal, d(from), addWorkingMs(cal, d(from), ms))).toBe(ms);
  });
});

const seg = (from: string, to: string | null): ClockSegment => ({ from: d(from), to: to === null ? null : d(to) });

describe('elapsed and dueAt', () => {
  it.each<[string, Calendar, ClockSegment[], string, number, number, string | null]>([
    ['a running ticket: elapsed so far, due after the target', berlin, [seg('2026-01-05T09:00:00+01:00', null)], '2026-01-05T11:00:00+01:00', 240, 2 * H, '2026-01-05T13:00:00+01:00'],
    ['a ticket opened in the evening is due the next working day', berlin, [seg('2026-01-05T17:30:00+01:00', null)], '2026-01-05T20:00:00+01:00', 120, 30 * M, '2026-01-06T09:30:00+01:00'],
    ['paused (pending): no due time while paused', berlin, [seg('2026-01-05T09:00:00+01:00', '2026-01-05T10:00:00+01:00')], '2026-01-05T15:00:00+01:00', 240, 1 * H, null],
    ['resumed on the customer reply: the paused hours do not count', berlin, [seg('2026-01-05T09:00:00+01:00', '2026-01-05T10:00:00+01:00'), seg('2026-01-05T14:00:00+01:00', null)], '2026-01-05T15:00:00+01:00', 240, 2 * H, '2026-01-05T17:00:00+01:00'],
    ['pending over the weekend and resumed Monday', berlin, [seg('2026-01-09T09:00:00+01:00', '2026-01-09T12:00:00+01:00'), seg('2026-01-12T08:00:00+01:00', null)], '2026-01-12T10:00:00+01:00', 480, 5 * H, '2026-01-12T13:00:00+01:00'],
    ['breached before the pause: the breach instant stays known while paused', berlin, [seg('2026-01-05T09:00:00+01:00', '2026-01-05T11:00:00+01:00')], '2026-01-05T15:00:00+01:00', 60, 2 * H, '2026-01-05T10:00:00+01:00'],
    ['breached while running: the due time is in the past', berlin, [seg('2026-01-05T09:00:00+01:00', null)], '2026-01-06T09:00:00+01:00', 60, 10 * H, '2026-01-05T10:00:00+01:00'],
    ['the target reached exactly at a pause is due at the pause', berlin, [seg('2026-01-05T09:00:00+01:00', '2026-01-05T10:00:00+01:00')], '2026-01-05T15:00:00+01:00', 60, 1 * H, '2026-01-05T10:00:00+01:00'],
    ['resolved before the target: no due time', berlin, [seg('2026-01-05T09:00:00+01:00', '2026-01-05T09:20:00+01:00')], '2026-01-07T09:00:00+01:00', 480, 20 * M, null],
    ['a pause across the spring-forward weekend', berlin, [seg('2026-03-27T16:00:00+01:00', '2026-03-27T17:00:00+01:00'), seg('2026-03-30T08:00:00+02:00', null)], '2026-03-30T09:00:00+02:00', 180, 2 * H, '2026-03-30T10:00:00+02:00'],
    ['24/7 across midnight', h24, [seg('2026-01-05T23:30:00Z', null)], '2026-01-06T00:10:00Z', 60, 40 * M, '2026-01-06T00:30:00Z'],
    ['24/7 pause and resume across midnight', h24, [seg('2026-01-05T22:00:00Z', '2026-01-05T23:00:00Z'), seg('2026-01-06T01:00:00Z', null)], '2026-01-06T01:30:00Z', 120, 90 * M, '2026-01-06T02:00:00Z'],
    ['a resolution target of three working days', berlin, [seg('2026-01-05T08:00:00+01:00', null)], '2026-01-05T08:00:00+01:00', 30 * 60, 0, '2026-01-07T18:00:00+01:00'],
    ['a segment reaching past now counts only up to now', berlin, [seg('2026-01-05T09:00:00+01:00', '2026-01-05T17:00:00+01:00')], '2026-01-05T10:00:00+01:00', 600, 1 * H, null],
    ['no history: nothing elapsed, nothing due', berlin, [], '2026-01-05T10:00:00+01:00', 60, 0, null],
  ])('%s', (_what, cal, running, now, target, expElapsed, expDue) => {
    expect(elapsed(cal, running, d(now))).toBe(expElapsed);
    expect(dueAt(cal, running, target)?.toISOString() ?? null).toBe(expDue === null ? null : d(expDue).toISOString());
  });

  // Changing category, priority or policy: the service calls dueAt again over the same history
  // with the new policy's calendar and target, as if it had applied from the start.
  const history = [seg('2026-01-09T16:00:00+01:00', '2026-01-09T17:00:00+01:00'), seg('2026-01-09T18:00:00+01:00', null)];
  it.each<[string, Calendar, number, string]>([
    ['the original policy: 8 business hours, due Monday 15:00', berlin, 480, '2026-01-12T15:00:00+01:00'],
    ['priority raised to a 1 h target: due at the pause, already breached', berlin, 60, '2026-01-09T17:00:00+01:00'],
    ['priority raised to a 2 h target: the rest of the hour falls on Monday morning', berlin, 120, '2026-01-12T09:00:00+01:00'],
    ['policy moved to 24/7 with 8 h: the weekend counts, due Saturday 01:00', h24, 480, '2026-01-10T01:00:00+01:00'],
    ['policy moved to a New York calendar: its hours apply from the start (Friday 10:00–11:00 and 12:00–17:00 there)', newYork, 480, '2026-01-12T11:00:00-05:00'],
  ])('policy change recomputes from history — %s', (_what, cal, target, expected) => {
    expect(dueAt(cal, history, target)?.toISOString()).toBe(d(expected).toISOString());
  });
});

describe('runningSegments', () => {
  const t = (hhmm: string) => d(`2026-01-05T${hhmm}:00Z`);
  const now = t('18:00');
  const s = (from: string, to: string | null) => ({ from: t(from), to: to === null ? null : t(to) });
  it.each<[string, [string, string][], ClockSegment[]]>([
    ['no history: the clock never ran', [], []],
    ['a new ticket: the clock runs from creation', [['new', '09:00']], [s('09:00', null)]],
    ['working statuses in a row make one segment', [['new', '09:00'], ['open', '09:30'], ['in_progress', '10:00']], [s('09:00', null)]],
    ['pending pauses the clock', [['new', '09:00'], ['pending', '10:00']], [s('09:00', '10:00')]],
    ['the customer reply (pending → open) restarts it', [['new', '09:00'], ['pending', '10:00'], ['open', '14:00']], [s('09:00', '10:00'), s('14:00', null)]],
    ['resolved stops it, closed keeps it stopped', [['new', '09:00'], ['resolved', '11:00'], ['closed', '12:00']], [s('09:00', '11:00')]],
    ['a reopen starts it again', [['new', '09:00'], ['resolved', '11:00'], ['open', '15:00']], [s('09:00', '11:00'), s('15:00', null)]],
    ['pending then resolved is still one stop', [['new', '09:00'], ['pending', '10:00'], ['resolved', '12:00']], [s('09:00', '10:00')]],
    ['a ticket created pending starts on the first reply', [['pending', '09:00'], ['open', '10:00']], [s('10:00', null)]],
    ['changes at the same instant leave no empty segment', [['new', '09:00'], ['pending', '10:00'], ['open', '10:00'], ['pending', '10:00']], [s('09:00', '10:00')]],
    ['changes after now are ignored', [['new', '09:00'], ['pending', '19:00']], [s('09:00', null)]],
    ['a change exactly at now counts', [['new', '09:00'], ['pending', '18:00']], [s('09:00', '18:00')]],
    ['history in any order is sorted by time', [['open', '14:00'], ['new', '09:00'], ['pending', '10:00']], [s('09:00', '10:00'), s('14:00', null)]],
  ])('%s', (_what, history, expected) => {
    expect(runningSegments(history.map(([status, at]) => ({ status, at: t(at) })), now)).toEqual(expected);
  });

  it('honours a custom set of stopped statuses (e.g. on_hold during an outage)', () => {
    const history = [{ status: 'new', at: t('09:00') }, { status: 'on_hold', at: t('10:00') }, { status: 'pending', at: t('11:00') }];
    expect(runningSegments(history, now, new Set(['on_hold']))).toEqual([s('09:00', '10:00'), s('11:00', null)]);
  });
});

describe('slaState', () => {
  it.each<[string, number, number, number, string]>([
    ['nothing elapsed is ok', 0, 60, 80, 'ok'],
    ['just below the warning threshold is ok', 48 * M - 1, 60, 80, 'ok'],
    ['exactly at the warning percentage warns', 48 * M, 60, 80, 'warning'],
    ['just below the target still only warns', 60 * M - 1, 60, 80, 'warning'],
    ['exactly at the target is breached (100 %)', 60 * M, 60, 80, 'breached'],
    ['past the target is breached', 5 * H, 60, 80, 'breached'],
    ['a warning percentage of 100 means no warning stage', 60 * M - 1, 60, 100, 'ok'],
    ['a warning percentage of 0 warns from the start', 0, 60, 0, 'warning'],
    ['a fractional percentage is compared exactly (33.3 % of 10 h = 3 h 19 m 48 s)', 3 * H + 19 * M + 48_000, 600, 33.3, 'warning'],
    ['a multi-day target (3 × 10 h) at 70 % with a 75 % warning is ok', 21 * H, 1800, 75, 'ok'],
  ])('%s', (_what, elapsedMs, target, warn, expected) => {
    expect(slaState(elapsedMs, target, warn)).toBe(expected);
  });
});

describe('validation', () => {
  const biz = (over: Partial<{ timeZone: string; hours: unknown; holidays: string[] }>) =>
    ({ kind: 'business', timeZone: 'Europe/Berlin', hours: weekdays('08:00', '18:00'), holidays: [], ...over }) as Calendar;
  const at = d('2026-01-05T09:00:00Z');
  it.each<[string, () => unknown, RegExp]>([
    ['an unknown time zone', () => workingMs(biz({ timeZone: 'Mars/Olympus' }), at, at), /invalid time zone 'Mars\/Olympus'/],
    ['an empty time zone (would silently mean the server zone)', () => workingMs(biz({ timeZone: '' }), at, at), /invalid time zone/],
    ['a time without a leading zero', () => workingMs(biz({ hours: { 1: [{ from: '8:00', to: '18:00' }] } }), at, at), /invalid time '8:00'/],
    ['an hour past 23', () => workingMs(biz({ hours: { 1: [{ from: '08:00', to: '25:00' }] } }), at, at), /invalid time '25:00'/],
    ['24:00 as a start', () => workingMs(biz({ hours: { 1: [{ from: '24:00', to: '24:00' }] } }), at, at), /invalid time '24:00'/],
    ['an overnight range on one day', () => workingMs(biz({ hours: { 5: [{ from: '22:00', to: '06:00' }] } }), at, at), /22:00–06:00 on weekday 5 do not end after they start; write an overnight shift as two ranges/],
    ['an empty range', () => workingMs(biz({ hours: { 1: [{ from: '08:00', to: '08:00' }] } }), at, at), /do not end after they start/],
    ['overlapping ranges', () => workingMs(biz({ hours: { 2: [{ from: '08:00', to: '12:00' }, { from: '11:00', to: '14:00' }] } }), at, at), /overlap on weekday 2/],
    ['a weekday 0', () => workingMs(biz({ hours: { 0: [{ from: '08:00', to: '18:00' }] } }), at, at), /invalid weekday '0'/],
    ['no working hours at all', () => workingMs(biz({ hours: { 6: [] } }), at, at), /at least one weekday/],
    ['a holiday that is not a date', () => workingMs(biz({ holidays: ['2026-02-30'] }), at, at), /invalid holiday '2026-02-30'/],
    ['an unknown calendar kind', () => workingMs({ kind: '9to5' } as unknown as Calendar, at, at), /unknown calendar kind '9to5'/],
    ['an invalid date', () => workingMs(h24, new Date('nope'), at), /invalid date/],
    ['negative working time to add', () => addWorkingMs(berlin, at, -1), /finite number >= 0, got -1/],
    ['a zero target', () => dueAt(berlin, [], 0), /positive number of minutes, got 0/],
    ['a negative target', () => slaState(0, -5, 80), /positive number of minutes, got -5/],
    ['negative elapsed time', () => slaState(-1, 60, 80), /elapsed time must be a finite number >= 0/],
    ['a warning percentage above 100', () => slaState(0, 60, 120), /between 0 and 100, got 120/],
    ['segments out of order', () => elapsed(h24, [seg('2026-01-05T12:00:00Z', '2026-01-05T13:00:00Z'), seg('2026-01-05T09:00:00Z', '2026-01-05T10:00:00Z')], at), /must be in order/],
    ['an open segment that is not the last', () => dueAt(h24, [seg('2026-01-05T09:00:00Z', null), seg('2026-01-05T12:00:00Z', null)], 60), /only the last may be open/],
    ['a segment that ends before it starts', () => elapsed(h24, [seg('2026-01-05T12:00:00Z', '2026-01-05T11:00:00Z')], at), /must be in order/],
    ['a calendar whose only working day is always a holiday', () => addWorkingMs({ kind: 'business', timeZone: 'UTC', hours: { 1: [{ from: '08:00', to: '09:00' }] }, holidays: Array.from({ length: 600 }, (_, i) => new Date(Date.UTC(2026, 0, 5 + 7 * i)).toISOString().slice(0, 10)) }, at, 1), /no working time in the 3660 days/],
  ])('rejects %s with a RangeError', (_what, call, message) => {
    expect(call).toThrow(RangeError);
    expect(call).toThrow(message);
  });

  it('validates a calendar even for an empty span', () => {
    expect(() => workingMs(biz({ timeZone: 'Nowhere/City' }), at, d('2026-01-01T00:00:00Z'))).toThrow(RangeError);
  });
});
