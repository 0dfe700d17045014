import { z } from 'zod';
import { money, timeWindow } from './catalog-schemas.js';

export type TimeWindow = z.infer<typeof timeWindow>;
type Money = z.infer<typeof money>;

/** What an accepted order takes: validated and priced at submission, fulfilled by the worker. */
export type OrderItem =
  | { kind: 'plan'; planId: string; planVersionId: string; version: number; fee: Money }
  | { kind: 'add_on'; addOnId: string; addOnVersionId: string; version: number; fee: Money }
  | { kind: 'line_add_on'; lineAddOnId: string }
  | { kind: 'msisdn'; msisdn: string }
  | { kind: 'sim'; iccid: string }
  | { kind: 'device'; sku: string; serial: string; price: Money };
