import { z } from 'zod';

const measure = z.object({
  targetMinutes: z.number().int(), elapsedMinutes: z.number().int().describe('Working minutes on the policy\'s calendar, pauses left out'),
  dueAt: z.date().nullable().describe('When the target is (or was) reached; null while the clock is paused short of it'),
  state: z.enum(['ok', 'warning', 'breached']), met: z.boolean(),
});

/** A ticket's SLA measured now, as the ticket routes and the customer view both show it. */
export const slaMeasured = z.object({
  policyId: z.uuid(), policyName: z.string(), first_response: measure.nullable(), next_response: measure.nullable(), resolution: measure.nullable(),
});
