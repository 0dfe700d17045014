import { z } from 'zod';

// Postgres keeps no instant past 9999 (in UTC), and one a client means is not before 1900: earlier
// ones are typing mistakes, and some (two-digit years) would not even read back as they were written.
const EARLIEST = Date.UTC(1900, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** Whether an instant is within the years a client may send (an invalid date is not). */
export const inRange = (d: Date) => d.getTime() >= EARLIEST && d.getTime() <= LATEST;
const message = 'a time between the years 1900 and 9999 (UTC)';

/** An instant as a client may send it (ISO 8601, or what `Date` reads), within the years Postgres and people use. */
export const instant = z.coerce.date().refine(inRange, message);

/** An ISO 8601 date-time with its offset, as the string it was sent, within the same years. */
export const isoInstant = z.iso.datetime({ offset: true }).refine((v) => inRange(new Date(v)), message);

/** The same, read as a `Date`. */
export const isoInstantDate = isoInstant.transform((v) => new Date(v));
