import { hash, verify } from '@node-rs/argon2';
import { checkNewPassword, type PasswordProblem } from '@goal-tracker/contract';
import { COMMON_PASSWORDS } from './common-passwords.js';

/**
 * OWASP's Argon2id parameters (19 MiB, 2 passes, 1 lane): 20 to 100 ms a hash on the
 * instances this runs on, computed off the event loop.
 */
// algorithm 2 is Argon2id (the package's const enum cannot be imported as a value here).
const ARGON2ID = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

const common = new Set(COMMON_PASSWORDS.map((password) => password.toLowerCase()));

/** What is wrong with a new password for this email, if anything. */
export function passwordProblem(password: string, email: string): PasswordProblem | undefined {
  return (
    checkNewPassword(password, email) ??
    (common.has(password.trim().toLowerCase()) ? 'common' : undefined)
  );
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2ID);
}

/**
 * A hash of no one's password, made once, that unknown emails are checked against: a sign-in
 * for an email without an account costs the same hash as one with a wrong password, so the
 * time taken does not tell the two apart.
 */
let decoy: Promise<string> | undefined;

/** Whether `password` matches `passwordHash`; with no hash, runs the same work and says no. */
export async function verifyPassword(
  passwordHash: string | undefined,
  password: string,
): Promise<boolean> {
  if (passwordHash === undefined) {
    decoy ??= hashPassword('no account has this password');
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  return verify(passwordHash, password).catch(() => false);
}
