import { timingSafeEqual } from 'node:crypto';

/**
 * Whether a value a caller sent equals a secret, in time that does not depend on where they differ. Compares the
 * UTF-8 bytes (a string of the same length in characters may be longer in bytes); anything but a string is unequal.
 */
export function sameSecret(given: unknown, secret: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}
