import { createHmac, randomBytes } from 'node:crypto';

/**
 * PINs: decimal digits, each uniformly random from the CSPRNG (a byte of 250 or more is thrown
 * away, so that no digit is likelier than another), kept only as a keyed hash.
 */
export function randomPins(count: number, length: number): string[] {
  const pins: string[] = [];
  let pool = randomBytes(count * length * 1.1 + 64);
  let i = 0;
  for (let n = 0; n < count; n++) {
    let pin = '';
    while (pin.length < length) {
      if (i === pool.length) {
        pool = randomBytes(4096);
        i = 0;
      }
      const b = pool[i++]!;
      if (b < 250) pin += String(b % 10);
    }
    pins.push(pin);
  }
  return pins;
}

export type PinHasher = (pin: string) => Buffer;

/** HMAC-SHA-256 under the operator's voucher key: a stolen table does not give up its PINs to a dictionary. */
export function pinHasher(key: string): PinHasher {
  return (pin) => createHmac('sha256', key).update(pin).digest();
}

/** What a caller typed, as the digits alone (printed PINs are grouped: "1234 5678 9012"). */
export const normalisePin = (typed: string) => typed.replace(/[\s-]/g, '');
