import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/platform/ids.js';
import { randomPooled } from '../../src/platform/random.js';

describe('uuidv7', () => {
  it('is a version 7, variant 1 UUID carrying its millisecond', () => {
    const id = uuidv7(0x0190_0000_0000);
    expect(id).toMatch(/^01900000-0000-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sorts in creation order, even many within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('randomPooled', () => {
  it('hands out fresh bytes on every call, across refills of its pool', () => {
    const ivs = Array.from({ length: 2000 }, () => randomPooled(12).toString('hex'));
    expect(new Set(ivs).size).toBe(ivs.length);
    expect(randomPooled(4096)).toHaveLength(4096);
  });
});
