import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sql, Tx } from './client.js';

/** drizzle's postgres.js session keeps the transaction's own client, which can COPY. */
const clientOf = (tx: Tx) => (tx as unknown as { session: { client: Sql } }).session.client;

export type CopyValue = string | number | boolean | Date | null | object;

const SPECIAL = /[\\\t\n\r]/;
const escapeText = (text: string) => (SPECIAL.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : text);

/** COPY's text format: backslash, tab and line breaks escaped, null as \N, objects as JSON. */
function cell(v: CopyValue): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return escapeText(v);
  if (v instanceof Date) return v.toISOString();
  return escapeText(typeof v === 'object' ? JSON.stringify(v) : String(v));
}

/**
 * Writes rows with COPY … FROM STDIN inside the caller's transaction: COPY costs Postgres a third
 * of an INSERT … SELECT from a JSON parameter. `table` and `columns` are trusted identifiers.
 */
export async function copyRows(tx: Tx, table: string, columns: readonly string[], rows: CopyValue[][]) {
  if (!rows.length) return;
  const target = await clientOf(tx).unsafe(`copy ${table} (${columns.join(', ')}) from stdin`).writable();
  const chunks: string[] = [];
  for (let i = 0; i < rows.length; i += 1000) {
    let chunk = '';
    for (const row of rows.slice(i, i + 1000)) {
      for (let c = 0; c < row.length; c++) chunk += (c ? '\t' : '') + cell(row[c]!);
      chunk += '\n';
    }
    chunks.push(chunk);
  }
  await pipeline(Readable.from(chunks), target);
}
