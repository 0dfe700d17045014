/** Wall-clock time in a time zone, for rules that speak of local hours (quiet hours, night tariffs). */

// Building a formatter costs far more than using one: one per zone, kept (zones are a finite list).
const clocks = new Map<string, Intl.DateTimeFormat>();
const clockIn = (timeZone: string) => {
  let f = clocks.get(timeZone);
  if (!f) clocks.set(timeZone, f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }));
  return f;
};

/** The wall-clock time of an instant in a zone, as minutes since local midnight. */
export function localMinutes(at: Date, timeZone: string) {
  const parts = clockIn(timeZone).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return get('hour') * 60 + get('minute');
}

/** "HH:MM" as minutes since midnight. */
export const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
