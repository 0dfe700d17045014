import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/platform/config.js';
import { fieldCrypto } from '../../src/platform/crypto/fields.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 3000, HOST: '127.0.0.1', DATA_DIR: '.data', RUN_WORKER: true });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ ADMIN_API_KEY: 'short' }, 'ADMIN_API_KEY'],
    [{ DATA_ENCRYPTION_KEYS: 'nokeyid' }, 'DATA_ENCRYPTION_KEYS'],
    [{ RUN_WORKER: 'maybe' }, 'RUN_WORKER'],
    [{ NODE_ENV: 'production' }, 'AUTH_SECRET'],
    [{ NODE_ENV: 'production' }, 'PUBLIC_URL'],
  ])('names the variable at fault: %o', (env, name) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration:[\\s\\S]*${name}`));
  });
});

describe('field encryption', () => {
  const k1 = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
  const k2 = `k2:${Buffer.alloc(32, 2).toString('base64url')}`;

  it('seals with the current key and opens with any key of the ring', () => {
    const old = fieldCrypto(k1, 'h'.repeat(32));
    const sealed = old.encrypt('AB123456');
    expect(sealed).toMatch(/^v1\.k1\./);
    expect(sealed).not.toContain('AB123456');
    const rotated = fieldCrypto(`${k2},${k1}`, 'h'.repeat(32));
    expect(rotated.decrypt(sealed)).toBe('AB123456');
    expect(rotated.encrypt('x')).toMatch(/^v1\.k2\./);
    expect(() => fieldCrypto(k2, 'h'.repeat(32)).decrypt(sealed)).toThrow(/unknown key id/);
  });

  it('detects tampering', () => {
    const c = fieldCrypto(k1, 'h'.repeat(32));
    const parts = c.encrypt('secret').split('.');
    parts[4] = Buffer.from('Secret').toString('base64url');
    expect(() => c.decrypt(parts.join('.'))).toThrow();
  });

  it('hashes for lookup deterministically and keyed', () => {
    expect(fieldCrypto(k1, 'a'.repeat(32)).lookupHash('X1')).toBe(fieldCrypto(k2, 'a'.repeat(32)).lookupHash('X1'));
    expect(fieldCrypto(k1, 'a'.repeat(32)).lookupHash('X1')).not.toBe(fieldCrypto(k1, 'b'.repeat(32)).lookupHash('X1'));
  });
});
