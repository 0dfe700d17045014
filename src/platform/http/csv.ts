import type { FastifyInstance } from 'fastify';
import { httpErrors } from './errors.js';

/**
 * Lets the routes of one plugin take `text/csv` as well as JSON: a header row names the fields,
 * each further row becomes one of `{ items: [...] }`, and the route's own schema then judges every
 * row (its errors name the row as `body.items.<n>`, counted from 0 after the header). Empty cells
 * are left out so that defaults apply. Plain CSV only: fields with commas or quotes inside are refused.
 */
export function acceptCsvItems(app: FastifyInstance) {
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseCsvItems(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

export function parseCsvItems(text: string) {
  const rows = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const header = rows.shift();
  if (!header) throw httpErrors.validation_failed('The CSV is empty: a header row names the columns');
  const cells = (line: string) => line.split(',').map((c) => c.trim());
  const names = cells(header);
  if (names.some((n) => !/^[A-Za-z][A-Za-z0-9_]*$/.test(n)) || new Set(names).size !== names.length) {
    throw httpErrors.validation_failed('The CSV header must name each column once, e.g. "msisdn,category"');
  }
  return {
    items: rows.map((line, i) => {
      const values = cells(line);
      if (values.length !== names.length || values.some((v) => v.includes('"'))) {
        throw httpErrors.validation_failed(`CSV row ${i} (line ${i + 2}) has ${values.length} cells for ${names.length} columns, or quotes`, { errors: [{ path: `body.items.${i}`, message: 'malformed CSV row' }] });
      }
      return Object.fromEntries(names.map((n, j) => [n, values[j]]).filter(([, v]) => v !== ''));
    }),
  };
}
