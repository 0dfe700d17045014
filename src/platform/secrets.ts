import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import { settings } from './db/tables.js';

export interface Secrets {
  authSecret: string;
  dataEncryptionKeys: string;
  dataHashKey: string;
  voucherPinKey: string;
}

/**
 * Secrets come from the environment. Outside production a missing one is generated once and kept
 * in platform.settings, so a fresh install works and every instance on the database agrees.
 */
export async function loadSecrets(db: Db, config: Config): Promise<Secrets> {
  const get = async (name: string, fromEnv: string | undefined, generate: () => string) => {
    if (fromEnv) return fromEnv;
    await db.insert(settings).values({ name, value: generate() }).onConflictDoNothing();
    const [row] = await db.select({ value: settings.value }).from(settings).where(sql`${settings.name} = ${name}`);
    return row!.value;
  };
  return {
    authSecret: await get('auth_secret', config.AUTH_SECRET, () => randomBytes(32).toString('base64url')),
    dataEncryptionKeys: await get('data_encryption_keys', config.DATA_ENCRYPTION_KEYS, () => `k1:${randomBytes(32).toString('base64url')}`),
    dataHashKey: await get('data_hash_key', config.DATA_HASH_KEY, () => randomBytes(32).toString('base64url')),
    voucherPinKey: await get('voucher_pin_key', config.VOUCHER_PIN_KEY, () => randomBytes(32).toString('base64url')),
  };
}
