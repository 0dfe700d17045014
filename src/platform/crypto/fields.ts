import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { randomPooled } from '../random.js';

/**
 * Field encryption for personal identifiers (AES-256-GCM) and keyed hashes to find them again.
 * Stored form: "v1.<keyId>.<iv>.<tag>.<ciphertext>" (base64url parts), so a value names the key
 * that sealed it and old keys keep decrypting after rotation.
 */
export interface FieldCrypto {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
  /** Deterministic keyed hash of a normalised value, for equality search without decryption. */
  lookupHash(value: string): string;
}

export function parseKeyRing(spec: string): { currentId: string; keys: Map<string, Buffer> } {
  const keys = new Map<string, Buffer>();
  let currentId = '';
  for (const entry of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [id, b64] = entry.split(':') as [string, string];
    const key = Buffer.from(b64, 'base64'); // Node reads both base64 alphabets
    if (key.length !== 32) throw new Error(`DATA_ENCRYPTION_KEYS: key "${id}" must be 32 bytes`);
    keys.set(id, key);
    currentId ||= id;
  }
  return { currentId, keys };
}

export function fieldCrypto(keyRing: string, hashKey: string): FieldCrypto {
  const { currentId, keys } = parseKeyRing(keyRing);
  const current = keys.get(currentId)!;
  return {
    encrypt(plain) {
      const iv = randomPooled(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', currentId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
    },
    decrypt(sealed) {
      const [v, id, iv, tag, ct] = sealed.split('.');
      const key = keys.get(id ?? '');
      if (v !== 'v1' || !key || !iv || !tag || ct === undefined) throw new Error(`cannot decrypt: unknown key id "${id}"`);
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    },
    lookupHash(value) {
      return createHmac('sha256', hashKey).update(value).digest('base64url');
    },
  };
}
