import type { Principal } from './auth/permissions.js';

/** Who is acting and on behalf of which request: every service call that changes state takes it. */
export interface Ctx {
  principal: Principal;
  requestId: string;
}
