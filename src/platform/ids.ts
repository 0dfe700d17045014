import { randomPooled } from './random.js';

let lastMs = 0;
let seq = 0;

/**
 * UUID v7 (RFC 9562): time-ordered, so keyset pagination by id is also by creation time. Within
 * one millisecond a 12-bit counter (RFC 9562 method 1) keeps ids from this process in order.
 */
export function uuidv7(now = Date.now()): string {
  const b = randomPooled(16);
  if (now > lastMs) {
    lastMs = now;
    seq = b.readUInt16BE(6) & 0x7ff; // start low and random, so the counter has room to grow
  } else if (seq === 0xfff) {
    lastMs++; // counter exhausted: borrow the next millisecond
    seq = b.readUInt16BE(6) & 0x7ff;
  } else {
    seq++;
  }
  now = lastMs;
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 0xff;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
