import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A session token: 256 random bits, base64url (43 characters). */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export const SESSION_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** What the database keeps of a token or code: a leak of the table signs no one in. */
export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand survives. */
const BASE32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A recovery code: 160 random bits as eight groups of four, easy to write down. */
export function newRecoveryCode(): string {
  const bytes = randomBytes(20);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join('-');
}

/** A code as a person may type it back: any case, with or without dashes and spaces. */
export function normalizeRecoveryCode(code: string): string {
  const plain = code.toUpperCase().replace(/[\s-]/g, '');
  return (plain.match(/.{1,4}/g) ?? []).join('-');
}

export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
