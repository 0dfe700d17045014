import { parseQuietHours, quietUntil } from '../../../src/modules/campaigns/send-rules.js';
import type { TestApp } from '../../support/app.js';

/** A new prepaid balance (0.00) is below the default threshold already: no threshold, then one above it, crosses it (balance.low). */
export async function crossLowBalance(t: TestApp, accountId: string) {
  await t.http.patch(`/v1/billing-accounts/${accountId}/balance`).send({ lowBalanceThreshold: null }).expect(200);
  await t.http.patch(`/v1/billing-accounts/${accountId}/balance`).send({ lowBalanceThreshold: 1000 }).expect(200);
}

// Fixed-offset zones, one per hour.
const zones = Array.from({ length: 24 }, (_, i) => `Etc/GMT${i - 12 >= 0 ? '+' : '-'}${Math.abs(i - 12)}`).filter((z) => z !== 'Etc/GMT-0');
const quiet = parseQuietHours('21:00-08:00');
const quietNowAndSoon = (z: string) => [new Date(), new Date(Date.now() + 120_000)].map((at) => quietUntil(at, z, quiet) !== null);
/** With QUIET_HOURS 21:00-08:00: a zone where it is night now and in two minutes, and one where it is day. */
export const nightZone = zones.find((z) => quietNowAndSoon(z).every(Boolean))!;
export const dayZone = zones.find((z) => quietNowAndSoon(z).every((q) => !q))!;
