/**
 * Rules applied to a marketing message when it is about to go: pure, no I/O.
 */
import { localMinutes, minutesOf } from '../../platform/time.js';

export interface QuietHours { from: string; to: string }

/** "21:00-08:00" → { from: '21:00', to: '08:00' }; an empty string: no quiet hours. */
export function parseQuietHours(spec: string): QuietHours | null {
  if (!spec) return null;
  const [from, to] = spec.split('-');
  return { from: from!, to: to! };
}

/**
 * When the quiet hours around `now` end in the customer's time zone, or null when it is not quiet
 * there. Usually the local clock simply runs to the end: that minute is taken when the clock there
 * reads it. Otherwise (a DST change inside the window) it is found by stepping a minute at a time
 * over at most a day, which ends it at the right instant without date arithmetic in local time.
 */
export function quietUntil(now: Date, timeZone: string, q: QuietHours | null): Date | null {
  if (!q) return null;
  const from = minutesOf(q.from);
  const to = minutesOf(q.to);
  const quiet = (m: number) => (from <= to ? m >= from && m < to : m >= from || m < to);
  const local = localMinutes(now, timeZone);
  if (!quiet(local)) return null;
  const minute = Math.floor(now.getTime() / 60_000) * 60_000;
  const end = new Date(minute + ((to - local + 1440) % 1440) * 60_000);
  if (localMinutes(end, timeZone) === to) return end;
  let t = new Date(minute);
  for (let i = 0; i < 24 * 60 + 120; i++) {
    t = new Date(t.getTime() + 60_000);
    if (!quiet(localMinutes(t, timeZone))) return t;
  }
  return null;
}
