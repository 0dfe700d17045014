import { sql } from 'drizzle-orm';
import { audit } from '../../platform/audit/audit.js';
import type { Ctx } from '../../platform/context.js';
import type { FieldCrypto } from '../../platform/crypto/fields.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { orderErrors } from './errors.js';
import { deviceUnits, msisdns, sims } from './tables.js';

export type ResourceKind = 'msisdn' | 'sim' | 'device';
/** Each pool, and the column a reservation may pick within (a number's category, a device's SKU). */
const pools = {
  msisdn: { table: msisdns, key: msisdns.msisdn, status: msisdns.status, within: msisdns.category, exhausted: orderErrors.number_pool_exhausted },
  sim: { table: sims, key: sims.iccid, status: sims.status, within: null, exhausted: orderErrors.sim_pool_exhausted },
  device: { table: deviceUnits, key: deviceUnits.serial, status: deviceUnits.status, within: deviceUnits.sku, exhausted: orderErrors.out_of_stock },
} as const;

/** How long a number and a SIM rest after a line gives them up, before they are sold again. */
export const QUARANTINE = { msisdn: '90 days', sim: '3650 days', device: '0 days' } as const;

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

/** Units of a device by serial number, all or nothing. */
export async function importDeviceUnits(db: Db, ctx: Ctx, sku: string, serials: string[]) {
  return importRows(db, ctx, 'device', serials, (tx) => tx.execute<{ id: string }>(sql`
    insert into ${deviceUnits} (serial, sku)
    select serial, ${sku} from json_array_elements_text(${JSON.stringify(serials)}::json) as serial
    on conflict do nothing returning serial as id`));
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
export async function reserve(tx: Tx, kind: ResourceKind, q: { reservedFor: string; ttlSeconds: number; within?: string; id?: string }) {
  const pool = pools[kind];
  const filters = [sql`status = 'available'`];
  if (q.within && pool.within) filters.push(sql`${pool.within} = ${q.within}`);
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

/**
 * Hands a reservation to its final owner. Only the holder can, and only while the reservation
 * lasts: a lapsed one may already be someone else's.
 */
export async function assign(tx: Tx, kind: ResourceKind, id: string, reservedFor: string, assignedTo: string) {
  const pool = pools[kind];
  const rows = await tx.execute(sql`
    update ${pool.table} set status = 'assigned', assigned_to = ${assignedTo}, reserved_for = null, reserved_until = null, updated_at = now()
    where ${pool.key} = ${id} and status = 'reserved' and reserved_for = ${reservedFor} and reserved_until > now() returning 1`);
  if (!rows.length) throw orderErrors.reservation_lapsed(`The ${kind} ${id} is no longer reserved for this order`);
}

/** A line gave the resource up: it rests before it goes back to the pool (devices go straight back). */
export async function quarantine(tx: Tx, kind: ResourceKind, id: string, assignedTo: string) {
  const pool = pools[kind];
  if (kind === 'device') {
    await tx.execute(sql`update ${pool.table} set status = 'available', assigned_to = null, updated_at = now() where ${pool.key} = ${id} and status = 'assigned' and assigned_to = ${assignedTo}`);
    return;
  }
  await tx.execute(sql`
    update ${pool.table} set status = 'quarantined', assigned_to = null, quarantined_until = now() + ${QUARANTINE[kind]}::interval, updated_at = now()
    where ${pool.key} = ${id} and status = 'assigned' and assigned_to = ${assignedTo}`);
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
  return { msisdns: await count('msisdn'), sims: await count('sim'), devices: await count('device') };
}

