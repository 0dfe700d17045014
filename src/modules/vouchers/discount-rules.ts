/**
 * Discount rules: pure functions, no I/O. Which discounts a priced item can take (target,
 * eligibility, window, duration, budget), and how they combine: in order of priority (then id),
 * an exclusive discount applies alone, at most one discount per group, stackable ones one after
 * another on what is left. Every decision is written down, so the API can say why a price is what
 * it is.
 */

export type ChargeKind = 'recurring_fee' | 'one_off' | 'usage';
export type Channel = 'web' | 'app' | 'shop' | 'partner' | 'csr';
export type Segment = 'consumer' | 'vip' | 'enterprise';

export interface DiscountDef {
  id: string;
  name: string;
  /** A promotion code the customer enters; absent: automatic. */
  code: string | null;
  kind: 'percentage' | 'fixed';
  /** Percentage in basis points (1000 = 10 %), or a fixed amount in minor units of `currency`. */
  value: number;
  currency: string | null;
  target: { charge: ChargeKind; planCodes?: string[]; addOnCodes?: string[]; usageType?: 'data' | 'voice' | 'sms' };
  eligibility: { segments?: Segment[]; newCustomersOnly?: boolean; channels?: Channel[] };
  /** Valid from/until (either may be open); a recurring fee is discounted for `cycles` cycles at most. */
  window: { from: Date | null; until: Date | null; cycles: number | null };
  stacking: 'exclusive' | 'stackable';
  group: string | null;
  priority: number;
  budget: { maxRedemptions: number | null; redemptions: number; maxPerCustomer: number | null };
}

export interface PricedItem {
  ref: string;
  charge: ChargeKind;
  amount: number;
  currency: string;
  planCode?: string;
  addOnCode?: string;
  usageType?: 'data' | 'voice' | 'sms';
  /** A usage rate, not a charge: priced as 10,000 to find the share that is still charged, and left out of totals. */
  rate?: boolean;
}

export interface Context {
  at: Date;
  segment: Segment;
  /** The customer has no line yet (a first order). */
  newCustomer: boolean;
  channel: Channel;
  /** Codes the customer entered, as typed (compared without case). */
  codes: string[];
  /** How many times this customer already took each discount. */
  customerUses: Record<string, number>;
  /** For a recurring fee: the how-manieth cycle of this discount on this line (1 = the first). */
  cycle?: number;
}

export interface Decision { discountId: string; name: string; applied: boolean; amount: number; reason: string }
export interface Priced { item: PricedItem; final: number; discount: number; decisions: Decision[] }

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Why a discount does not apply to an item at all, or null when it may. */
export function ineligibility(d: DiscountDef, item: PricedItem, c: Context): string | null {
  if (d.code && !c.codes.some((typed) => same(typed, d.code!))) return 'its promotion code was not entered';
  if (d.target.charge !== item.charge) return `it is for ${d.target.charge.replace('_', '-')} charges`;
  if (d.target.planCodes?.length && !(item.planCode && d.target.planCodes.includes(item.planCode))) return `it is for plans ${d.target.planCodes.join(', ')}`;
  if (d.target.addOnCodes?.length && !(item.addOnCode && d.target.addOnCodes.includes(item.addOnCode))) return `it is for packs ${d.target.addOnCodes.join(', ')}`;
  if (d.target.usageType && d.target.usageType !== item.usageType) return `it is for ${d.target.usageType} usage`;
  // A usage rate is a share of whatever is rated: only a percentage means anything there (older fixed usage discounts included).
  if (item.rate && d.kind !== 'percentage') return 'a usage rate takes percentages only';
  if (d.kind === 'fixed' && d.currency !== item.currency) return `it is in ${d.currency}`;
  if (d.eligibility.segments?.length && !d.eligibility.segments.includes(c.segment)) return `it is for ${d.eligibility.segments.join(', ')} customers`;
  if (d.eligibility.newCustomersOnly && !c.newCustomer) return 'it is for new customers';
  if (d.eligibility.channels?.length && !d.eligibility.channels.includes(c.channel)) return `it is sold through ${d.eligibility.channels.join(', ')}`;
  if (d.window.from && c.at < d.window.from) return `it starts on ${d.window.from.toISOString()}`;
  if (d.window.until && c.at >= d.window.until) return `it ended on ${d.window.until.toISOString()}`;
  if (d.window.cycles !== null && item.charge !== 'one_off' && (c.cycle ?? 1) > d.window.cycles) return `it lasts ${d.window.cycles} cycle(s)`;
  if (d.budget.maxRedemptions !== null && d.budget.redemptions >= d.budget.maxRedemptions) return 'its budget is used up';
  if (d.budget.maxPerCustomer !== null && (c.customerUses[d.id] ?? 0) >= d.budget.maxPerCustomer) return 'this customer has had it as often as it allows';
  return null;
}

/** What one discount takes off `left`: a percentage rounds down to the minor unit (the customer's favour is the operator's choice, not rounding's). */
export function reduction(d: DiscountDef, left: number) {
  const off = d.kind === 'percentage' ? Math.floor((left * d.value) / 10_000) : d.value;
  return Math.min(left, Math.max(0, off));
}

/** The order discounts are considered in: priority, highest first; then id, so that ties are decided the same way every time. */
export const byRank = (a: DiscountDef, b: DiscountDef) => b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** One item's price under the discounts, with every discount's decision and its reason. */
export function priceItem(item: PricedItem, discounts: DiscountDef[], c: Context): Priced {
  const decisions: Decision[] = [];
  const candidates: DiscountDef[] = [];
  for (const d of [...discounts].sort(byRank)) {
    const why = ineligibility(d, item, c);
    if (why) decisions.push({ discountId: d.id, name: d.name, applied: false, amount: 0, reason: `Not applicable: ${why}` });
    else candidates.push(d);
  }
  let left = item.amount;
  const taken: DiscountDef[] = [];
  const groups = new Map<string, DiscountDef>();
  for (const d of candidates) {
    const skip = (reason: string) => decisions.push({ discountId: d.id, name: d.name, applied: false, amount: 0, reason });
    const exclusive = taken.find((t) => t.stacking === 'exclusive');
    if (exclusive) { skip(`Not combined: ${exclusive.name} ranks higher and applies alone`); continue; }
    if (d.stacking === 'exclusive' && taken.length) { skip(`Not combined: it applies alone, and ${taken[0]!.name} ranks higher`); continue; }
    const rival = d.group ? groups.get(d.group) : undefined;
    if (rival) { skip(`Not combined: ${rival.name} ranks higher in group ${d.group}`); continue; }
    const off = reduction(d, left);
    // A discount that takes nothing off is not taken: it would spend its budget on nothing.
    if (off === 0) { skip('Not applicable: nothing is left for it to take off'); continue; }
    left -= off;
    taken.push(d);
    if (d.group) groups.set(d.group, d);
    decisions.push({
      discountId: d.id, name: d.name, applied: true, amount: off,
      reason: `${d.kind === 'percentage' ? `${d.value / 100} % of ${left + off}` : `${off} off${off < d.value ? ` (of ${d.value}: the rest was less)` : ''}`}${d.stacking === 'exclusive' ? ', alone' : ''} (priority ${d.priority})`,
    });
  }
  return { item, final: left, discount: item.amount - left, decisions };
}

/** Every item of an order priced; the discounts that applied to any item are the ones whose budget it uses. */
export function priceOrder(items: PricedItem[], discounts: DiscountDef[], c: Context) {
  const priced = items.map((i) => priceItem(i, discounts, c));
  const used = [...new Set(priced.flatMap((p) => p.decisions.filter((d) => d.applied).map((d) => d.discountId)))];
  const charged = priced.filter((p) => !p.item.rate);
  return { items: priced, total: charged.reduce((s, p) => s + p.final, 0), discount: charged.reduce((s, p) => s + p.discount, 0), used };
}

/** A price that holds for `cycles` cycles (null: for good). */
export interface Step { cycles: number | null; amount: number }

/**
 * What a recurring fee or a usage rate costs in the cycles after the first, as steps: the
 * discounts that applied in the first cycle go on (their budget is spent once, on the order)
 * until their `cycles` run out, each one's end a new step; after the last step, the list price.
 * A discount that did not apply in the first cycle never joins later.
 */
export function laterSteps(priced: Priced, discounts: DiscountDef[], c: Context): Step[] {
  if (priced.item.charge === 'one_off') return [];
  const applied = discounts.filter((d) => priced.decisions.some((x) => x.applied && x.discountId === d.id))
    .map((d) => ({ ...d, budget: { maxRedemptions: null, redemptions: 0, maxPerCustomer: null } }));
  if (!applied.length) return [];
  const ends = [...new Set(applied.map((d) => d.window.cycles))].filter((n): n is number => n !== null && n > 1).sort((a, b) => a - b);
  const open = applied.some((d) => d.window.cycles === null);
  const steps: Step[] = [];
  let from = 2;
  for (const end of [...ends, ...(open ? [null] : [])]) {
    const amount = priceItem(priced.item, applied, { ...c, cycle: from }).final;
    const cycles = end === null ? null : end - from + 1;
    if (amount === priced.item.amount) break;
    const last = steps.at(-1);
    if (last && last.amount === amount && last.cycles !== null) last.cycles = cycles === null ? null : last.cycles + cycles;
    else steps.push({ cycles, amount });
    if (end === null) break;
    from = end + 1;
  }
  return steps;
}
