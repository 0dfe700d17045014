import type { Principal } from './auth/permissions.js';

/** Who is acting and on behalf of which request: every service call that changes state takes it. */
export interface Ctx {
  principal: Principal;
  requestId: string;
}

/** For work that no person started (jobs, start-up): audit rows name the system as actor. */
export const systemCtx = (requestId = 'system'): Ctx => ({
  principal: { kind: 'integration', id: 'system', capabilities: [], via: 'api_key' },
  requestId,
});
