import { z } from 'zod';

/** An ISO 4217 currency code, as every amount of money in the API carries one. */
export const currencyCode = z.string().regex(/^[A-Z]{3}$/, 'ISO 4217, e.g. "EUR"');

/**
 * ISO 4217 minor units of the currencies that do not have two. Intl's display digits differ for
 * some (HUF and IQD show none), so documents that print amounts use this table.
 */
const MINOR_UNITS: Record<string, number> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

/** How many minor units a currency's major unit has, as a power of ten (2 for EUR: cents). */
export const minorUnits = (currency: string) => MINOR_UNITS[currency] ?? 2;

/** Minor units as the currency writes them: "12.50 EUR", "1250 JPY", "1.250 BHD". */
export function formatMoney(minor: number, currency: string) {
  const digits = minorUnits(currency);
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  if (!digits) return `${sign}${abs} ${currency}`;
  const text = String(abs).padStart(digits + 1, '0');
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)} ${currency}`;
}
