/**
 * Rules applied to a marketing message when it is about to go: pure, no I/O.
 */

export interface QuietHours { from: string; to: string }

/** "21:00-08:00" → { from: '21:00', to: '08:00' }; an empty string: no quiet hours. */
export function parseQuietHours(spec: string): QuietHours | null {
  if (!spec) return null;
  const [from, to] = spec.split('-');
  return { from: from!, to: to! };
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

// Building a formatter costs far more than using one: one per zone, kept.
const formats = new Map<string, Intl.DateTimeFormat>();
const formatIn = (timeZone: string) => {
  let f = formats.get(timeZone);
  if (!f) formats.set(timeZone, f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }));
  return f;
};

/** The wall-clock time in a zone, as minutes since local midnight. */
function localMinutes(at: Date, timeZone: string) {
  const parts = formatIn(timeZone).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return get('hour') * 60 + get('minute');
}

/**
 * When the quiet hours around `now` end in the customer's time zone, or null when it is not quiet
 * there. Found by stepping a minute at a time over at most a day, so a DST change inside the
 * window ends it at the right instant without date arithmetic in local time.
 */
export function quietUntil(now: Date, timeZone: string, q: QuietHours | null): Date | null {
  if (!q) return null;
  const from = minutesOf(q.from);
  const to = minutesOf(q.to);
  const quiet = (m: number) => (from <= to ? m >= from && m < to : m >= from || m < to);
  if (!quiet(localMinutes(now, timeZone))) return null;
  let t = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  for (let i = 0; i < 24 * 60 + 120; i++) {
    t = new Date(t.getTime() + 60_000);
    if (!quiet(localMinutes(t, timeZone))) return t;
  }
  return null;
}
