import { sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import type { Ctx } from '../../platform/context.js';
import type { FieldCrypto } from '../../platform/crypto/fields.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { orderErrors } from './errors.js';
import { msisdns, sims } from './tables.js';

export type ResourceKind = 'msisdn' | 'sim';
const pools = {
  msisdn: { table: msisdns, key: msisdns.msisdn, status: msisdns.status, exhausted: orderErrors.number_pool_exhausted },
  sim: { table: sims, key: sims.iccid, status: sims.status, exhausted: orderErrors.sim_pool_exhausted },
} as const;

/** Numbers in ranges or lists, all or nothing: a number that exists already refuses the whole import. */
// Rows travel as one JSON parameter: a bind parameter per value would pass Postgres's limit of
// 65,535 at about 30,000 rows, and one statement over a set is what a bulk import should be.
export async function importMsisdns(db: Db, ctx: Ctx, rows: { msisdn: string; category: string }[]) {
  return importRows(db, ctx, 'msisdn', rows.map((r) => r.msisdn), (tx) => tx.execute<{ id: string }>(sql`
    insert into ${msisdns} (msisdn, category)
    select msisdn, category from json_to_recordset(${JSON.stringify(rows)}::json) as r(msisdn text, category text)
    on conflict do nothing returning msisdn as id`));
}

export async function importSims(db: Db, crypto: FieldCrypto, ctx: Ctx, rows: { iccid: string; imsi: string; puk: string }[]) {
  const imsis = new Set<string>();
  const repeatedImsi = rows.filter((r) => imsis.size === imsis.add(r.imsi).size).map((r) => r.imsi);
  if (repeatedImsi.length) throw orderErrors.duplicate_rows('The import names the same IMSI more than once; nothing was imported', { rows: [...new Set(repeatedImsi)].slice(0, 100) });
  const sealed = rows.map((r) => ({ iccid: r.iccid, imsi: r.imsi, puk_enc: crypto.encrypt(r.puk) }));
  return importRows(db, ctx, 'sim', rows.map((r) => r.iccid), (tx) => tx.execute<{ id: string }>(sql`
    insert into ${sims} (iccid, imsi, puk_enc)
    select iccid, imsi, puk_enc from json_to_recordset(${JSON.stringify(sealed)}::json) as r(iccid text, imsi text, puk_enc text)
    on conflict do nothing returning iccid as id`));
}

/** Every number of each range (same length at both ends, so no padding is ever needed). */
export function expandRanges(ranges: { from: string; to: string; category: string }[]) {
  const rows: { msisdn: string; category: string }[] = [];
  for (const r of ranges) {
    for (let n = BigInt(r.from); n <= BigInt(r.to); n++) rows.push({ msisdn: `+${n}`, category: r.category });
  }
  return rows;
}

async function importRows(db: Db, ctx: Ctx, kind: ResourceKind, ids: string[], insert: (tx: Tx) => PromiseLike<{ id: string }[]>) {
  const seen = new Set<string>();
  const repeated = ids.filter((id) => seen.size === seen.add(id).size);
  if (repeated.length) throw orderErrors.duplicate_rows(undefined, { rows: [...new Set(repeated)].slice(0, 100) });
  return db.transaction(async (tx) => {
    const inserted = await insert(tx);
    if (inserted.length !== ids.length) {
      const fresh = new Set(inserted.map((r) => r.id));
      throw orderErrors.resources_already_exist(undefined, { rows: ids.filter((id) => !fresh.has(id)).slice(0, 100) });
    }
    await audit(tx, ctx, { action: `inventory.${kind}s_imported`, entityType: kind, entityId: '*', details: { count: ids.length } });
    return { imported: ids.length };
  });
}

/**
 * Reserves one available number (of a category, or a given one) or SIM for `reservedFor` until
 * `ttlSeconds` from now. SKIP LOCKED hands concurrent callers different rows; the status check in
 * the outer WHERE makes a row that changed meanwhile count as taken. Never the same row twice.
 */
export async function reserve(tx: Tx, kind: ResourceKind, q: { reservedFor: string; ttlSeconds: number; category?: string; id?: string }) {
  const pool = pools[kind];
  const filters = [sql`status = 'available'`];
  if (q.category && kind === 'msisdn') filters.push(sql`category = ${q.category}`);
  if (q.id) filters.push(sql`${pool.key} = ${q.id}`);
  const [row] = await tx.execute<{ id: string }>(sql`
    update ${pool.table} set status = 'reserved', reserved_for = ${q.reservedFor},
      reserved_until = now() + make_interval(secs => ${q.ttlSeconds}), updated_at = now()
    where ${pool.key} = (select ${pool.key} from ${pool.table} where ${sql.join(filters, sql` and `)}
                         order by ${pool.key} limit 1 for update skip locked)
      and status = 'available'
    returning ${pool.key} as id, reserved_until as "reservedUntil"`);
  if (!row) throw q.id ? orderErrors.resource_not_available() : pool.exhausted();
  return row as { id: string; reservedUntil: string };
}

/** One reservation in its own transaction, for the HTTP route. */
export async function reserveOne(db: Db, kind: ResourceKind, q: Parameters<typeof reserve>[2]) {
  const row = await db.transaction((tx) => reserve(tx, kind, q));
  return { id: row.id, reservedUntil: new Date(row.reservedUntil) };
}

/** Gives a reservation back (a failed order step); only its holder can. */
export async function release(tx: Tx, kind: ResourceKind, id: string, reservedFor: string) {
  const pool = pools[kind];
  const rows = await tx.execute(sql`
    update ${pool.table} set status = 'available', reserved_for = null, reserved_until = null, updated_at = now()
    where ${pool.key} = ${id} and status = 'reserved' and reserved_for = ${reservedFor} returning 1`);
  if (!rows.length) throw orderErrors.reservation_not_found();
}

/** Scheduled: lapsed reservations and finished quarantines go back to the pool. */
export async function recycleResources(db: Db) {
  for (const pool of Object.values(pools)) {
    await db.execute(sql`update ${pool.table} set status = 'available', reserved_for = null, reserved_until = null,
      quarantined_until = null, updated_at = now()
      where (status = 'reserved' and reserved_until <= now()) or (status = 'quarantined' and quarantined_until <= now())`);
  }
}

export async function inventorySummary(db: Db) {
  const count = async (kind: ResourceKind) => {
    const pool = pools[kind];
    const rows = await db.select({ status: pool.status, n: sql<number>`count(*)::int` }).from(pool.table).groupBy(pool.status);
    const out = { available: 0, reserved: 0, assigned: 0, quarantined: 0 };
    for (const r of rows) out[r.status] = r.n;
    return out;
  };
  return { msisdns: await count('msisdn'), sims: await count('sim') };
}

