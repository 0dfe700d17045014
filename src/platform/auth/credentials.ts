import { createHmac, randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { SignJWT, jwtVerify } from 'jose';
import type { Db } from '../db/client.js';
import { apiKeys, staffUsers } from './tables.js';
import { staffRoles, type Permission, type Principal, type StaffRole } from './permissions.js';

export const KEY_PREFIX = 'tcrm_';

export function newApiKeySecret(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export interface Credentials {
  hashKey(secret: string): string;
  issueStaffToken(user: { id: string; role: StaffRole }): Promise<{ token: string; expiresIn: number }>;
  /** The principal behind a bearer token, or undefined when it is unknown, revoked or expired. */
  resolve(bearer: string): Promise<Principal | undefined>;
  /** Drops a cached key hash (or `user:<id>`), or everything, after a revocation or account change. */
  forget(key?: string): void;
}

type ApiKeyRow = typeof apiKeys.$inferSelect;

export function principalOfKey(row: Pick<ApiKeyRow, 'id' | 'principalKind' | 'role' | 'staffUserId' | 'partnerId' | 'customerId' | 'capabilities'>): Principal {
  switch (row.principalKind) {
    case 'staff': return { kind: 'staff', id: row.staffUserId ?? `key:${row.id}`, role: row.role!, via: 'api_key' };
    case 'partner': return { kind: 'partner', id: `key:${row.id}`, partnerId: row.partnerId!, via: 'api_key' };
    case 'customer': return { kind: 'customer', id: `key:${row.id}`, customerId: row.customerId!, via: 'api_key' };
    case 'integration': return { kind: 'integration', id: `key:${row.id}`, capabilities: row.capabilities as Permission[], via: 'api_key' };
  }
}

export function credentials(db: Db, authSecret: string, opts: { tokenTtlSeconds: number; cacheSeconds: number }): Credentials {
  const jwtKey = createHmac('sha256', authSecret).update('jwt-signing').digest();
  const hashKey = (secret: string) => createHmac('sha256', authSecret).update(secret).digest('base64url');
  // A short-lived cache keeps key lookups off the hot path; revocation reaches other instances
  // within cacheSeconds (and this one at once).
  const cache = new Map<string, { principal: Promise<Principal | undefined>; until: number }>();

  async function lookUp(keyHash: string): Promise<Principal | undefined> {
    // One round trip: find a live key, and record its use at most once a minute (a hot key
    // must not turn every request into a write on the same row).
    const rows = await db.execute<ApiKeyRow>(sql`
      with k as (
        select * from ${apiKeys} where ${apiKeys.keyHash} = ${keyHash} and ${apiKeys.revokedAt} is null
          and (${apiKeys.expiresAt} is null or ${apiKeys.expiresAt} > now())
          -- a key issued to a staff user dies with that user's account
          and (${apiKeys.staffUserId} is null or exists (
            select 1 from ${staffUsers} u where u.id = ${apiKeys.staffUserId} and u.status = 'active'))),
      touched as (
        update ${apiKeys} set last_used_at = now() where ${apiKeys.id} = (select id from k)
          and (${apiKeys.lastUsedAt} is null or ${apiKeys.lastUsedAt} < now() - interval '1 minute'))
      -- a key issued to a staff user acts with that user's current role (a demotion bites at once)
      select k.id, k.principal_kind as "principalKind", coalesce(u.role, k.role) as role, k.staff_user_id as "staffUserId",
        k.partner_id as "partnerId", k.customer_id as "customerId", k.capabilities
      from k left join ${staffUsers} u on u.id = k.staff_user_id`);
    return rows[0] ? principalOfKey(rows[0]) : undefined;
  }

  /**
   * Concurrent misses share one lookup instead of stampeding the database. Misses (unknown
   * secrets) live in a map of their own, so a flood of made-up tokens cannot evict real ones.
   */
  const misses = new Map<string, number>();
  function cached(key: string, load: () => Promise<Principal | undefined>) {
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.until > now) return hit.principal;
    if ((misses.get(key) ?? 0) > now) return Promise.resolve(undefined);
    const principal = load();
    if (opts.cacheSeconds > 0) {
      const until = now + opts.cacheSeconds * 1000;
      cache.set(key, { principal, until });
      principal.then((p) => {
        if (p) return;
        cache.delete(key);
        if (misses.size > 10_000) misses.clear();
        misses.set(key, until);
      }, () => cache.delete(key));
      if (cache.size > 10_000) cache.clear();
    }
    return principal;
  }

  /** The token proves who; the account says whether and as what, so disabling or demoting bites at once. */
  async function staffNow(id: string): Promise<Principal | undefined> {
    const [u] = await db.select({ role: staffUsers.role, status: staffUsers.status }).from(staffUsers).where(eq(staffUsers.id, id));
    return u?.status === 'active' ? { kind: 'staff', id, role: u.role, via: 'token' } : undefined;
  }

  async function fromToken(token: string): Promise<Principal | undefined> {
    try {
      const { payload } = await jwtVerify(token, jwtKey, { issuer: 'telco-crm', algorithms: ['HS256'] });
      if (payload.kind === 'staff' && typeof payload.sub === 'string' && staffRoles.includes(payload.role as StaffRole)) {
        return await cached(`user:${payload.sub}`, () => staffNow(payload.sub!));
      }
    } catch {
      // expired, forged or malformed: the caller answers 401
    }
    return undefined;
  }

  return {
    hashKey,
    async issueStaffToken(user) {
      const token = await new SignJWT({ kind: 'staff', role: user.role })
        .setProtectedHeader({ alg: 'HS256' }).setSubject(user.id).setIssuer('telco-crm')
        .setIssuedAt().setExpirationTime(`${opts.tokenTtlSeconds}s`).sign(jwtKey);
      return { token, expiresIn: opts.tokenTtlSeconds };
    },
    resolve(bearer) {
      if (bearer.startsWith(KEY_PREFIX) || bearer.split('.').length !== 3) {
        const keyHash = hashKey(bearer);
        return cached(keyHash, () => lookUp(keyHash));
      }
      return fromToken(bearer);
    },
    forget(key) {
      if (key) cache.delete(key);
      else cache.clear();
      misses.clear();
    },
  };
}
