/**
 * SLA clock of service tickets: pure functions, no I/O.
 *
 * A target (first response, next response, resolution) is an amount of *working* time on a
 * calendar: 24/7 (plain elapsed time, no time zone needed) or a business calendar (working hours
 * per weekday, holidays, one IANA time zone). The clock only counts inside the ticket's running
 * segments (see runningSegments), so pausing in 'pending' and restarting on the customer's reply
 * are just segment boundaries. For a first-response target pass `now` = the first reply (the clock
 * stops there); for a next-response target pass the history from the customer's message on.
 *
 * A change of category, priority or policy is not special here: the service calls dueAt/elapsed
 * again with the new calendar and target over the same history, i.e. the new policy is applied as
 * if it had held from the start (a priority raised late can be breached at once — by design).
 *
 * Local time → instant (DST): wall-clock time T on local date D means the EARLIEST instant at which
 * the local clock reads D T or later. So a time that occurs twice (autumn fall-back) is its first
 * occurrence, and a time that does not exist (spring-forward gap) is the instant of the jump (the
 * end of the gap). A range counts the real time between its two instants: 08:00–18:00 is 10 h on
 * every day; 00:00–24:00 is 23 h / 25 h on the change days; 02:00–02:30 inside the gap is empty.
 * An overnight shift is written as two ranges on two days (Mon 22:00–24:00, Tue 00:00–06:00): a
 * range never runs past its own day, which keeps holidays and weekdays unambiguous.
 */

export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;
export interface TimeRange { from: string; to: string }
export interface BusinessCalendar {
  /** IANA zone, e.g. 'Europe/Berlin'; all hours and holidays are local to it. */
  timeZone: string;
  /** Working hours per ISO weekday (1 = Monday … 7 = Sunday) as local 'HH:MM' ranges, end
   *  exclusive; several a day (lunch break), not overlapping; '24:00' allowed as an end. A missing
   *  or empty day is closed. */
  hours: Partial<Record<Weekday, TimeRange[]>>;
  /** Local dates 'YYYY-MM-DD' closed all day. */
  holidays: string[];
}
/** Calendars are treated as immutable: the validated form is cached per object. */
export type Calendar = { kind: '24x7' } | ({ kind: 'business' } & BusinessCalendar);

/** An interval in which the clock ran (see runningSegments); to = null: it still runs. */
export interface ClockSegment { from: Date; to: Date | null }
export type SlaState = 'ok' | 'warning' | 'breached';

/** Statuses in which the clock stands still; a reopened ticket's clock runs again. */
export const CLOCK_STOPPED_STATUSES: ReadonlySet<string> = new Set(['pending', 'resolved', 'closed']);

const MIN = 60_000, DAY = 86_400_000;
/** Days without any working time after which a calendar counts as broken (stops endless walks). */
const MAX_IDLE_DAYS = 3_660;

interface Compiled {
  fmt: Intl.DateTimeFormat;
  hours: Map<number, [number, number][]>; // ISO weekday → sorted [fromMinute, toMinute)
  holidays: Set<number>; // local dates as day numbers (days since 1970-01-01)
  days: Map<number, [number, number][]>; // cache: day number → working intervals as epoch ms
}
const compiledCalendars = new WeakMap<object, Compiled>();
const formatters = new Map<string, Intl.DateTimeFormat>(); // costly to build; one per zone

function time(d: Date): number {
  const t = d instanceof Date ? d.getTime() : NaN;
  if (Number.isNaN(t)) throw new RangeError(`invalid date: ${String(d)}`);
  return t;
}

function targetMs(minutes: number): number {
  if (!Number.isFinite(minutes) || minutes <= 0) throw new RangeError(`an SLA target must be a positive number of minutes, got ${minutes}`);
  return Math.round(minutes * MIN);
}

function minuteOfDay(s: string, isEnd: boolean): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(String(s));
  if (m) return Number(m[1]) * 60 + Number(m[2]);
  if (isEnd && s === '24:00') return 1440;
  throw new RangeError(`invalid time '${s}': expected 'HH:MM' from 00:00 to 23:59${isEnd ? ', or 24:00 as an end' : ''}`);
}

/** Validates a business calendar once (RangeError with the offending value) and caches the result. */
function compile(cal: Calendar): Compiled | null {
  if (cal.kind === '24x7') return null;
  if (cal.kind !== 'business') throw new RangeError(`unknown calendar kind '${(cal as { kind: unknown }).kind}'`);
  const cached = compiledCalendars.get(cal);
  if (cached) return cached;
  let fmt = formatters.get(cal.timeZone);
  if (!fmt) {
    try {
      if (typeof cal.timeZone !== 'string' || !cal.timeZone) throw new Error(); // '' would mean the server's zone
      fmt = new Intl.DateTimeFormat('en-US', { timeZone: cal.timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    } catch {
      throw new RangeError(`invalid time zone '${cal.timeZone}': expected an IANA name such as 'Europe/Berlin'`);
    }
    formatters.set(cal.timeZone, fmt);
  }
  const hours = new Map<number, [number, number][]>();
  for (const [key, ranges] of Object.entries(cal.hours ?? {})) {
    const day = Number(key);
    if (!Number.isInteger(day) || day < 1 || day > 7) throw new RangeError(`invalid weekday '${key}': expected 1 (Monday) to 7 (Sunday)`);
    const parsed = (ranges ?? []).map(({ from, to }): [number, number] => {
      const a = minuteOfDay(from, false), b = minuteOfDay(to, true);
      if (a >= b) throw new RangeError(`working hours ${from}–${to} on weekday ${day} do not end after they start; write an overnight shift as two ranges on two days`);
      return [a, b];
    }).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < parsed.length; i++) {
      if (parsed[i][0] < parsed[i - 1][1]) throw new RangeError(`working hours overlap on weekday ${day}`);
    }
    if (parsed.length) hours.set(day, parsed);
  }
  if (!hours.size) throw new RangeError('a business calendar needs working hours on at least one weekday');
  const holidays = new Set((cal.holidays ?? []).map((h) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(h));
    const dn = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY : NaN;
    if (!m || new Date(dn * DAY).toISOString().slice(0, 10) !== h) throw new RangeError(`invalid holiday '${h}': expected a date 'YYYY-MM-DD'`);
    return dn;
  }));
  const c: Compiled = { fmt, hours, holidays, days: new Map() };
  compiledCalendars.set(cal, c);
  return c;
}

/** Local wall clock of an instant, read as if it were UTC (epoch ms, whole seconds). */
function wallClock(c: Compiled, t: number): number {
  const p: Record<string, number> = {};
  for (const { type, value } of c.fmt.formatToParts(t)) p[type] = Number(value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second);
}
const offset = (c: Compiled, t: number) => wallClock(c, t) - Math.floor(t / 1000) * 1000;
const localDay = (c: Compiled, t: number) => Math.floor(wallClock(c, t) / DAY);
const isoWeekday = (dn: number) => ((((dn + 3) % 7) + 7) % 7) + 1; // day 0 = Thursday 1970-01-01

/** The earliest instant at which the local clock reads day `dn`, `minute` or later (see top). */
function instantOf(c: Compiled, dn: number, minute: number): number {
  const wall = dn * DAY + minute * MIN;
  // Offsets a day either side bracket any transition near this wall time (zones change at most
  // once within two days); with none, the offset is unambiguous.
  const before = offset(c, wall - DAY), after = offset(c, wall + DAY);
  if (before === after) return wall - before;
  const valid = [wall - before, wall - after].filter((t) => offset(c, t) === wall - t);
  if (valid.length) return Math.min(...valid); // twice (fall-back): the first occurrence
  // In the gap (spring-forward): binary-search the first millisecond after the jump.
  let lo = wall - after, hi = wall - before;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offset(c, mid) === before) lo = mid; else hi = mid;
  }
  return hi;
}

function dayIntervals(c: Compiled, dn: number): [number, number][] {
  let iv = c.days.get(dn);
  if (!iv) {
    const ranges = c.holidays.has(dn) ? [] : c.hours.get(isoWeekday(dn)) ?? [];
    iv = ranges.map(([a, b]): [number, number] => [instantOf(c, dn, a), instantOf(c, dn, b)]).filter(([s, e]) => e > s);
    c.days.set(dn, iv);
  }
  return iv;
}

/** Working intervals [start, end) from `from` on, in order, walking day by day. */
function* workingIntervals(c: Compiled, from: number): Generator<[number, number]> {
  for (let dn = localDay(c, from), idle = 0; idle <= MAX_IDLE_DAYS; dn++, idle++) {
    for (const [s, e] of dayIntervals(c, dn)) {
      if (e > from) { idle = 0; yield [Math.max(s, from), e]; }
    }
  }
  throw new RangeError(`the calendar has no working time in the ${MAX_IDLE_DAYS} days after ${new Date(from).toISOString()}`);
}

/** Working milliseconds in [from, to) on the calendar; 0 when to <= from. */
export function workingMs(cal: Calendar, from: Date, to: Date): number {
  const a = time(from), b = time(to);
  const c = compile(cal);
  if (b <= a) return 0;
  if (!c) return b - a;
  let total = 0;
  for (const [s, e] of workingIntervals(c, a)) {
    if (s >= b) break;
    total += Math.min(e, b) - s;
  }
  return total;
}

/**
 * The instant at which `ms` working milliseconds have passed since `from`. With ms = 0 that is
 * `from` if it is working time, else the next opening. Work that fills an interval exactly ends at
 * its close (Mon 08:00 + 10 h → Mon 18:00, not Tue 08:00); a closing instant itself is not working
 * time (Mon 18:00 + 0 → Tue 08:00). Negative ms throws: the clock does not run backwards.
 */
export function addWorkingMs(cal: Calendar, from: Date, ms: number): Date {
  const a = time(from);
  const c = compile(cal);
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`working time to add must be a finite number >= 0, got ${ms}`);
  if (!c) return new Date(a + ms);
  let left = ms;
  for (const [s, e] of workingIntervals(c, a)) {
    if (left <= e - s) return new Date(s + left);
    left -= e - s;
  }
  throw new Error('unreachable: workingIntervals ends by throwing');
}

/** Segments must be ordered and not overlap; only the last may be open. */
function checkSegments(running: ClockSegment[]): void {
  let last = -Infinity, open = false;
  for (const seg of running) {
    const a = time(seg.from), b = seg.to === null ? null : time(seg.to);
    if (open || a < last || (b !== null && b < a)) throw new RangeError('clock segments must be in order, must not overlap, and only the last may be open');
    last = b ?? a;
    open = b === null;
  }
}

/** Working time the clock has run up to `now` (segment parts after `now` do not count). */
export function elapsed(cal: Calendar, running: ClockSegment[], now: Date): number {
  checkSegments(running);
  const n = time(now);
  return running.reduce((sum, seg) => sum + workingMs(cal, seg.from, new Date(Math.min(seg.to?.getTime() ?? n, n))), 0);
}

/**
 * The instant at which the clock reaches the target: in the past if it already has (the breach
 * time, also while paused or after resolution), projected through the open segment if the clock
 * runs, and null if the clock stands still short of the target — no due time while paused; show
 * `target - elapsed` as time left instead. Needs no `now`: the segments say whether it runs.
 */
export function dueAt(cal: Calendar, running: ClockSegment[], targetMinutes: number): Date | null {
  checkSegments(running);
  let left = targetMs(targetMinutes);
  for (const { from, to } of running) {
    if (to === null) return addWorkingMs(cal, from, left);
    const w = workingMs(cal, from, to);
    if (w >= left) return addWorkingMs(cal, from, left);
    left -= w;
  }
  return null;
}

/** 'breached' from 100 % of the target on, 'warning' from warnPercent (0–100; 100 = no warning). */
export function slaState(elapsedMs: number, targetMinutes: number, warnPercent: number): SlaState {
  if (!Number.isFinite(elapsedMs) || elapsedMs < 0) throw new RangeError(`elapsed time must be a finite number >= 0, got ${elapsedMs}`);
  const target = targetMs(targetMinutes);
  if (!Number.isFinite(warnPercent) || warnPercent < 0 || warnPercent > 100) throw new RangeError(`warning percentage must be between 0 and 100, got ${warnPercent}`);
  if (elapsedMs >= target) return 'breached';
  return elapsedMs * 100 >= target * warnPercent ? 'warning' : 'ok'; // multiply, not divide: exact for whole percentages
}

/**
 * A ticket's status history → when its clock ran. The clock runs from the first running status
 * (the ticket's creation) and stops in a stopped status; a customer's reply (pending → open) or a
 * reopen starts it again. Changes after `now` are ignored; the order given need not be sorted
 * (a stable sort keeps changes at the same instant in their recorded order); empty segments vanish.
 */
export function runningSegments(history: { status: string; at: Date }[], now: Date, stopped: ReadonlySet<string> = CLOCK_STOPPED_STATUSES): ClockSegment[] {
  const n = time(now);
  const events = history.map((h) => ({ status: h.status, at: time(h.at) })).filter((e) => e.at <= n).sort((x, y) => x.at - y.at);
  const out: ClockSegment[] = [];
  let openAt: number | null = null;
  for (const { status, at } of events) {
    const runs = !stopped.has(status);
    if (runs && openAt === null) openAt = at;
    else if (!runs && openAt !== null) {
      if (at > openAt) out.push({ from: new Date(openAt), to: new Date(at) });
      openAt = null;
    }
  }
  if (openAt !== null) out.push({ from: new Date(openAt), to: null });
  return out;
}
