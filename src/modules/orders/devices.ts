import { and, asc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { audit } from '../../platform/audit/audit.js';
import type { Ctx } from '../../platform/context.js';
import type { Db, Tx } from '../../platform/db/client.js';
import { emit } from '../../platform/events/events.js';
import { money } from './catalog-schemas.js';
import { orderErrors } from './errors.js';
import { importDeviceUnits } from './inventory.js';
import { deviceUnits, devices } from './tables.js';

export const sku = z.string().regex(/^[A-Z0-9][A-Z0-9_-]{1,39}$/, 'upper-case letters, digits, "-" and "_"');
const status = z.enum(['active', 'retired']);

export const createDeviceBody = z.object({ sku, name: z.string().trim().min(1).max(200), price: money }).strict();
export const listDevicesQuery = z.object({
  status: status.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export const importUnitsBody = z.object({
  serials: z.array(z.string().regex(/^[A-Za-z0-9-]{4,64}$/, '4 to 64 letters, digits or "-"')).min(1).max(10_000),
}).strict();

const stock = z.object({ available: z.number().int(), reserved: z.number().int(), assigned: z.number().int() });
export const device = z.object({ sku: z.string(), name: z.string(), price: money, status, stock, createdAt: z.date(), updatedAt: z.date() });
export type DeviceView = z.infer<typeof device>;

type DeviceRow = typeof devices.$inferSelect;

/** Devices with their stock, counted in one grouped query however many devices there are. */
async function views(db: Tx, rows: DeviceRow[]): Promise<DeviceView[]> {
  if (!rows.length) return [];
  const counts = await db.select({
    sku: deviceUnits.sku,
    available: sql<number>`count(*) filter (where ${deviceUnits.status} = 'available')::int`,
    reserved: sql<number>`count(*) filter (where ${deviceUnits.status} = 'reserved')::int`,
    assigned: sql<number>`count(*) filter (where ${deviceUnits.status} = 'assigned')::int`,
  }).from(deviceUnits).where(inArray(deviceUnits.sku, rows.map((d) => d.sku))).groupBy(deviceUnits.sku);
  const bySku = new Map(counts.map(({ sku: s, ...c }) => [s, c]));
  return rows.map(({ priceAmount, currency, ...d }) => ({
    ...d, price: { amount: priceAmount, currency }, stock: bySku.get(d.sku) ?? { available: 0, reserved: 0, assigned: 0 },
  }));
}

const view = async (db: Tx, d: DeviceRow) => (await views(db, [d]))[0]!;

/** Staff see every device; partners and customers only what is on sale. */
const visible = (ctx: Ctx): SQL | undefined => (ctx.principal.kind === 'staff' || ctx.principal.kind === 'integration' ? undefined : eq(devices.status, 'active'));

async function changed(tx: Tx, ctx: Ctx, d: DeviceRow, action: string) {
  await emit(tx, action, { sku: d.sku }, { aggregateId: d.sku, requestId: ctx.requestId });
  await audit(tx, ctx, { action, entityType: 'device', entityId: d.sku });
  return view(tx, d);
}

export async function createDevice(db: Db, ctx: Ctx, input: z.output<typeof createDeviceBody>) {
  return db.transaction(async (tx) => {
    const [d] = await tx.insert(devices).values({ sku: input.sku, name: input.name, priceAmount: input.price.amount, currency: input.price.currency })
      .onConflictDoNothing().returning();
    if (!d) throw orderErrors.device_sku_taken();
    return changed(tx, ctx, d, 'device.created');
  });
}

/** Units in stock stay where they are; they just cannot be sold any more. */
export async function retireDevice(db: Db, ctx: Ctx, sku: string) {
  return db.transaction(async (tx) => {
    const [d] = await tx.update(devices).set({ status: 'retired', updatedAt: sql`now()` }).where(and(eq(devices.sku, sku), eq(devices.status, 'active'))).returning();
    if (d) return changed(tx, ctx, d, 'device.retired');
    const [already] = await tx.select().from(devices).where(eq(devices.sku, sku));
    if (!already) throw orderErrors.device_not_found();
    return view(tx, already); // retiring twice changes nothing
  });
}

export async function getDevice(db: Db, ctx: Ctx, sku: string) {
  const [d] = await db.select().from(devices).where(and(eq(devices.sku, sku), visible(ctx)));
  if (!d) throw orderErrors.device_not_found();
  return view(db, d);
}

export async function listDevices(db: Db, ctx: Ctx, q: { status?: DeviceRow['status']; limit: number; after?: string }) {
  const where: (SQL | undefined)[] = [visible(ctx)];
  if (q.status) where.push(eq(devices.status, q.status));
  if (q.after) where.push(gt(devices.sku, q.after));
  return views(db, await db.select().from(devices).where(and(...where)).orderBy(asc(devices.sku)).limit(q.limit + 1));
}

/**
 * Stock for a device still on sale. The check runs before the import's own transaction: a unit
 * that lands just as the device is retired is harmless, since a retired device is never sold.
 */
export async function importUnits(db: Db, ctx: Ctx, sku: string, serials: string[]) {
  await sellableDevice(db, sku);
  return importDeviceUnits(db, ctx, sku, serials);
}

/** The device if it is on sale; else device_not_found (unknown) / device_retired. */
export async function sellableDevice(tx: Tx, sku: string): Promise<DeviceRow> {
  const [d] = await tx.select().from(devices).where(eq(devices.sku, sku));
  if (!d) throw orderErrors.device_not_found();
  if (d.status === 'retired') throw orderErrors.device_retired();
  return d;
}
