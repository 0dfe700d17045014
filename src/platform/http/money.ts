import { z } from 'zod';

/** An ISO 4217 currency code, as every amount of money in the API carries one. */
export const currencyCode = z.string().regex(/^[A-Z]{3}$/, 'ISO 4217, e.g. "EUR"');
