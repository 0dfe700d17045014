import { hash, verify } from '@node-rs/argon2';
import { and, desc, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { actorOf, type Ctx } from '../context.js';
import { audit } from '../audit/audit.js';
import { defineErrors } from '../http/errors.js';
import { uuidv7 } from '../ids.js';
import { type Credentials, newApiKeySecret } from './credentials.js';
import type { Permission, StaffRole } from './permissions.js';
import { apiKeys, staffUsers } from './tables.js';

export const authErrors = defineErrors({
  invalid_login: { status: 401, title: 'Email or password is wrong, or the account is disabled' },
  staff_user_not_found: { status: 404, title: 'No such staff user' },
  api_key_not_found: { status: 404, title: 'No such API key' },
  email_taken: { status: 409, title: 'A staff user with this email exists' },
  invalid_principal: { status: 422, title: 'The key does not name a valid principal' },
});

// Fixed id: ADMIN_API_KEY always updates the same row, so restarts never pile up bootstrap keys.
export const BOOTSTRAP_KEY_ID = '00000000-0000-7000-8000-000000000001';

const publicUser = ({ passwordHash: _omit, ...u }: typeof staffUsers.$inferSelect) => u;
const publicKey = ({ keyHash: _omit, ...k }: typeof apiKeys.$inferSelect) => k;

let dummyHash: Promise<string> | undefined;

export async function login(db: Db, creds: Credentials, email: string, password: string) {
  const [user] = await db.select().from(staffUsers).where(sql`lower(${staffUsers.email}) = lower(${email})`);
  // Verify even when the user is missing, so timing does not reveal which emails exist.
  dummyHash ??= hash('no user has this password');
  const ok = await verify(user?.passwordHash ?? (await dummyHash), password).catch(() => false);
  if (!user || !ok || user.status !== 'active') throw authErrors.invalid_login();
  const { token, expiresIn } = await creds.issueStaffToken(user);
  return { accessToken: token, tokenType: 'Bearer' as const, expiresIn };
}

export async function createStaffUser(db: Db, ctx: Ctx, input: { email: string; displayName: string; role: StaffRole; password: string }) {
  const passwordHash = await hash(input.password);
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(staffUsers).values({ id: uuidv7(), email: input.email, displayName: input.displayName, role: input.role, passwordHash })
      .onConflictDoNothing().returning();
    if (!row) throw authErrors.email_taken();
    await audit(tx, ctx, { action: 'staff_user.created', entityType: 'staff_user', entityId: row.id, details: { role: row.role } });
    return publicUser(row);
  });
}

export async function updateStaffUser(db: Db, creds: Credentials, ctx: Ctx, id: string, patch: { displayName?: string; role?: StaffRole; status?: 'active' | 'disabled'; password?: string }) {
  const { password, ...rest } = patch;
  const set = { ...rest, ...(password ? { passwordHash: await hash(password) } : {}), updatedAt: sql`now()` };
  const user = await db.transaction(async (tx) => {
    const [row] = await tx.update(staffUsers).set(set).where(eq(staffUsers.id, id)).returning();
    if (!row) throw authErrors.staff_user_not_found();
    await audit(tx, ctx, { action: 'staff_user.updated', entityType: 'staff_user', entityId: id, details: { fields: Object.keys(patch) } });
    return publicUser(row);
  });
  // After the commit, or a request in between would cache the old state again. This instance
  // applies the change at once; others within AUTH_CACHE_SECONDS.
  creds.forget();
  return user;
}

export async function getStaffUser(db: Db, id: string) {
  const [row] = await db.select().from(staffUsers).where(eq(staffUsers.id, id));
  if (!row) throw authErrors.staff_user_not_found();
  return publicUser(row);
}

export async function listStaffUsers(db: Db, q: { limit: number; after?: string }) {
  const rows = await db.select().from(staffUsers).where(q.after ? lt(staffUsers.id, q.after) : undefined).orderBy(desc(staffUsers.id)).limit(q.limit + 1);
  return rows.map(publicUser);
}

export interface NewApiKey {
  name: string;
  principalKind: 'staff' | 'partner' | 'customer' | 'integration';
  role?: StaffRole;
  staffUserId?: string;
  partnerId?: string;
  customerId?: string;
  capabilities?: Permission[];
  expiresAt?: string;
}

/**
 * Whether the party a key is bound to exists. The platform knows no customers or partners: the
 * composition root (app.ts) answers through the owning module's public service.
 */
export type PartyExists = (kind: 'partner' | 'customer', id: string) => Promise<boolean>;

export async function createApiKey(db: Db, creds: Credentials, ctx: Ctx, input: NewApiKey, partyExists?: PartyExists) {
  const secret = newApiKeySecret();
  const needs = { staff: input.role, partner: input.partnerId, customer: input.customerId, integration: input.capabilities?.length } as const;
  if (!needs[input.principalKind]) {
    throw authErrors.invalid_principal(`A ${input.principalKind} key needs ${{ staff: 'role', partner: 'partnerId', customer: 'customerId', integration: 'capabilities' }[input.principalKind]}`);
  }
  const party = input.principalKind === 'partner' ? input.partnerId : input.principalKind === 'customer' ? input.customerId : undefined;
  if (party && partyExists && !(await partyExists(input.principalKind as 'partner' | 'customer', party))) {
    throw authErrors.invalid_principal(`No ${input.principalKind} ${party}`);
  }
  return db.transaction(async (tx) => {
    if (input.staffUserId) {
      const [u] = await tx.select({ id: staffUsers.id }).from(staffUsers).where(eq(staffUsers.id, input.staffUserId));
      if (!u) throw authErrors.staff_user_not_found();
    }
    const [row] = await tx.insert(apiKeys).values({
      id: uuidv7(), name: input.name, keyHash: creds.hashKey(secret), prefix: secret.slice(0, 12),
      principalKind: input.principalKind,
      role: input.principalKind === 'staff' ? input.role : null,
      staffUserId: input.principalKind === 'staff' ? input.staffUserId : null,
      partnerId: input.principalKind === 'partner' ? input.partnerId : null,
      customerId: input.principalKind === 'customer' ? input.customerId : null,
      capabilities: input.principalKind === 'integration' ? input.capabilities : [],
      createdBy: actorOf(ctx),
      expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
    }).returning();
    await audit(tx, ctx, { action: 'api_key.created', entityType: 'api_key', entityId: row!.id, details: { principalKind: input.principalKind } });
    return { ...publicKey(row!), secret };
  });
}

export async function listApiKeys(db: Db, q: { limit: number; after?: string }) {
  const rows = await db.select().from(apiKeys).where(q.after ? lt(apiKeys.id, q.after) : undefined).orderBy(desc(apiKeys.id)).limit(q.limit + 1);
  return rows.map(publicKey);
}

export async function revokeApiKey(db: Db, creds: Credentials, ctx: Ctx, id: string) {
  const row = await db.transaction(async (tx) => {
    const [revoked] = await tx.update(apiKeys).set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` }).where(eq(apiKeys.id, id)).returning();
    if (!revoked) throw authErrors.api_key_not_found();
    await audit(tx, ctx, { action: 'api_key.revoked', entityType: 'api_key', entityId: id });
    return revoked;
  });
  creds.forget(row.keyHash); // after the commit (see updateStaffUser)
  return publicKey(row);
}

/** For erasure: the customer's own self-care keys stop working (other instances within AUTH_CACHE_SECONDS). */
export async function revokeCustomerKeys(tx: Tx, customerId: string) {
  await tx.update(apiKeys).set({ revokedAt: sql`now()` }).where(and(eq(apiKeys.customerId, customerId), isNull(apiKeys.revokedAt)));
}

/** ADMIN_API_KEY at start-up: exactly one admin key with that secret exists afterwards. */
export async function ensureBootstrapAdminKey(tx: Tx, creds: Credentials, secret: string) {
  const keyHash = creds.hashKey(secret);
  await tx.insert(apiKeys).values({
    id: BOOTSTRAP_KEY_ID, name: 'bootstrap admin (ADMIN_API_KEY)', keyHash, prefix: secret.slice(0, 12),
    principalKind: 'staff', role: 'admin', createdBy: 'system',
  }).onConflictDoUpdate({ target: apiKeys.id, set: { keyHash, prefix: secret.slice(0, 12), revokedAt: null, role: 'admin' } });
}

/** The first start without ADMIN_API_KEY makes an admin key and returns its secret to print once. */
export async function firstStartAdminKey(db: Db, creds: Credentials): Promise<string | undefined> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(727002)`);
    const [any] = await tx.select({ id: apiKeys.id }).from(apiKeys)
      .where(and(eq(apiKeys.principalKind, 'staff'), eq(apiKeys.role, 'admin'), isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, sql`now()`)))).limit(1);
    const [anyAdmin] = await tx.select({ id: staffUsers.id }).from(staffUsers).where(and(eq(staffUsers.role, 'admin'), eq(staffUsers.status, 'active'))).limit(1);
    if (any || anyAdmin) return undefined;
    const secret = newApiKeySecret();
    await ensureBootstrapAdminKey(tx, creds, secret);
    return secret;
  });
}
