import type { Principal } from './auth/permissions.js';

/** Who is acting and on behalf of which request: every service call that changes state takes it. */
export interface Ctx {
  principal: Principal;
  requestId: string;
}

/** How records name who acted: "staff:<id>", "customer:<id>", "integration:<id>"... */
export const actorOf = (ctx: Ctx) => `${ctx.principal.kind}:${ctx.principal.id}`;

/** An actor as the caller may read it: staff read who; customers and partners only what kind ("staff"), not which member of staff. */
export const actorSeenBy = (ctx: Ctx, actor: string) => (ctx.principal.kind === 'staff' ? actor : actor.split(':')[0]!);

/** Jobs act as the system once the request that caused them was checked (fulfilment, ledger moves). */
export const systemCtx = (requestId: string): Ctx => ({ principal: { kind: 'staff', id: 'system', role: 'admin', via: 'api_key' }, requestId });
