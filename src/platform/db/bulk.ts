/*
 * For hot paths (usage rating): statements Postgres parses and plans once per connection, and
 * COPY. drizzle sends every query unnamed, so Postgres parses and plans it on each execution, and
 * postgres.js asks for its parameter types in a round trip of its own first.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Sql, Tx } from './client.js';

const dialect = new PgDialect();

/** drizzle's postgres.js session keeps the transaction's own client. */
const clientOf = (tx: Tx) => (tx as unknown as { session: { client: Sql } }).session.client;

/**
 * Runs a query as a named prepared statement of the connection. Only for statements whose text
 * does not vary with the input (lists travel as one array parameter, `sql.param(list)`): each
 * distinct text stays prepared on the connection for its lifetime.
 */
export async function executePrepared<T>(tx: Tx, query: SQL): Promise<T[]> {
  const { sql, params } = dialect.sqlToQuery(query);
  return (await clientOf(tx).unsafe(sql, params as never[], { prepare: true })) as unknown as T[];
}

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
