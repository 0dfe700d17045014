import { randomBytes } from 'node:crypto';

// One CSPRNG call per 4 KiB: each call is a system call, and uuidv7 and field encryption ask for
// a few bytes several times per request. Disjoint slices of one random buffer are as random as
// separate calls.
let pool = Buffer.alloc(0);
let offset = 0;

/** `n` (at most 4096) fresh random bytes, copied out of the pool. */
export function randomPooled(n: number): Buffer {
  if (!(n >= 0 && n <= 4096)) throw new RangeError('randomPooled gives at most 4096 bytes at a time');
  if (offset + n > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  offset += n;
  return Buffer.from(pool.subarray(offset - n, offset));
}
