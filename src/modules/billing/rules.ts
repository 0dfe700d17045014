/**
 * Rating rules: pure functions, no I/O. Quantities are base units (bytes, seconds, messages);
 * money is integer minor units. A record first draws on the line's allowance buckets (packs
 * before the plan, the pack expiring first before the others), and what no bucket covers is
 * priced by the plan's charging tiers.
 */

import { localMinutes, minutesOf } from '../../platform/time.js';

export type UsageType = 'data' | 'voice' | 'sms';

export interface UsageRecord { usageType: UsageType; zone: string; quantity: number; startedAt: Date }

export interface Bucket {
  id: string;
  usageType: UsageType;
  zone: string;
  /** From a pack (drawn first) or the plan. */
  fromPack: boolean;
  /** What is left; null = unlimited. */
  remaining: number | null;
  validFrom: Date;
  validUntil: Date;
  /** A daily window (e.g. night data) in its own time zone; absent = all day. */
  timeWindow?: { from: string; to: string; timeZone: string } | null;
}

export interface Tier { upTo: number | null; unitSize: number; pricePerUnit: number }

/** Whether a window contains an instant; a window may run over midnight (22:00–06:00). */
export function inWindow(w: { from: string; to: string; timeZone: string }, at: Date) {
  const [t, from, to] = [localMinutes(at, w.timeZone), minutesOf(w.from), minutesOf(w.to)];
  return from < to ? t >= from && t < to : t >= from || t < to;
}

/** Whether a record may draw on a bucket: its type and zone, valid at its time, not used up. */
export function canDraw(b: Bucket, r: UsageRecord) {
  return b.usageType === r.usageType && b.zone === r.zone && b.validFrom <= r.startedAt && r.startedAt < b.validUntil
    && (b.remaining === null || b.remaining > 0) && (!b.timeWindow || inWindow(b.timeWindow, r.startedAt));
}

/** The order a record draws in: packs by earliest expiry, then the plan's. */
export function drawingOrder(a: Bucket, b: Bucket) {
  return Number(b.fromPack) - Number(a.fromPack) || a.validUntil.getTime() - b.validUntil.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The buckets a record may draw on, in the order it draws. */
export function eligibleBuckets(buckets: Bucket[], r: UsageRecord): Bucket[] {
  return buckets.filter((b) => canDraw(b, r)).sort(drawingOrder);
}

export interface Draw { bucketId: string; quantity: number }

/**
 * Draws `quantity` from the buckets in order, exactly: each takes what it has left, the next the
 * rest. Mutates `remaining` of the buckets it draws on, so that records rated one after another
 * in one batch see each other's consumption. Returns the draws and what no bucket covered.
 */
export function draw(ordered: Bucket[], quantity: number): { draws: Draw[]; uncovered: number } {
  const draws: Draw[] = [];
  let left = quantity;
  for (const b of ordered) {
    if (left === 0) break;
    const take = b.remaining === null ? left : Math.min(b.remaining, left);
    if (take === 0) continue;
    if (b.remaining !== null) b.remaining -= take;
    draws.push({ bucketId: b.id, quantity: take });
    left -= take;
  }
  return { draws, uncovered: left };
}

/**
 * The price of `quantity` chargeable units when `before` units were already charged this cycle:
 * each tier prices the part of the cycle's cumulative usage that falls in it, rounding that part
 * up to whole charged units (a started megabyte or minute is a charged one).
 */
export function priceTiers(tiers: Tier[], before: number, quantity: number): number {
  if (quantity <= 0) return 0;
  let amount = 0;
  let floor = 0;
  const end = before + quantity;
  for (const tier of tiers) {
    const ceiling = tier.upTo ?? Number.POSITIVE_INFINITY;
    const part = Math.min(end, ceiling) - Math.max(before, floor);
    if (part > 0) amount += Math.ceil(part / tier.unitSize) * tier.pricePerUnit;
    floor = ceiling;
    if (end <= ceiling) break;
  }
  return amount;
}

/**
 * A usage discount: the charge when only `share` ten-thousandths of it are charged. The reduction
 * rounds down to the minor unit, as every discount's does.
 */
export function discountedCharge(amount: number, share: number | undefined) {
  if (share === undefined || share >= 10_000) return amount;
  return amount - Math.floor((amount * (10_000 - share)) / 10_000);
}

export interface Rated { draws: Draw[]; chargeable: number; amount: number }

/** One record: its draws on the buckets, then the price of the rest (0 when no tiers are set: not charged). */
export function rate(buckets: Bucket[], tiers: Tier[] | undefined, chargedBefore: number, r: UsageRecord): Rated {
  const { draws, uncovered } = draw(eligibleBuckets(buckets, r), r.quantity);
  return { draws, chargeable: uncovered, amount: tiers ? priceTiers(tiers, chargedBefore, uncovered) : 0 };
}

export type CapBehaviour = 'block' | 'throttle' | 'charge_on';
export type CapHit = 'allowance' | 'spend_cap';

/**
 * What a rated record may cost under the line's caps. Past the allowance a plan that blocks or
 * throttles charges nothing (the network stops or slows the line; what leaks through is not
 * billed); one that charges on prices it. A spend cap is a promise: the cycle never costs more.
 */
export function applyCaps(r: { usageType: UsageType; chargeable: number; amount: number }, o: { behaviour: CapBehaviour; spent: number; spendCap: number | null }): { amount: number; hits: CapHit[] } {
  const hits: CapHit[] = [];
  let amount = r.amount;
  // A plan's usage cap governs data (a network can slow or stop a data session); voice and SMS past
  // their allowance are priced by their tiers.
  if (r.usageType === 'data' && r.chargeable > 0 && o.behaviour !== 'charge_on') {
    hits.push('allowance');
    amount = 0;
  }
  if (o.spendCap !== null && amount > 0 && o.spent + amount >= o.spendCap) {
    hits.push('spend_cap');
    amount = Math.max(0, o.spendCap - o.spent);
  }
  return { amount, hits };
}
