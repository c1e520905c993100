import { Type, type Static, type TProperties } from '@sinclair/typebox';
import { GOAL_ID_MAX } from './goal.js';
import { namedObject } from './named-object.js';

/** NIST SP 800-63B: length, not composition rules. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;
/** RFC 5321's limit on a whole address. */
export const EMAIL_MAX_LENGTH = 254;

/**
 * One "@" with something on both sides and no spaces: enough to catch a typo in the wrong
 * field. No email is ever sent, so nothing stricter would prove the address works.
 */
export const EMAIL_PATTERN = '^[^\\s@\\ud800-\\udfff]+@[^\\s@\\ud800-\\udfff]+$';

/** No lone surrogate (half a character): it would hash as U+FFFD, like any other half. */
const WHOLE_CHARACTERS = '^[^\\ud800-\\udfff]*$';

export const Email = Type.String({
  minLength: 3,
  maxLength: EMAIL_MAX_LENGTH,
  pattern: EMAIL_PATTERN,
  description: 'An email address, trimmed; compared case-insensitively, stored as typed',
});

/**
 * A new password. The schema only bounds its size; the rules (length in characters, not a
 * common password, not the email) are checked by the API, which answers 422 naming the rule.
 */
export const Password = Type.String({
  minLength: 1,
  pattern: WHOLE_CHARACTERS,
  // UTF-16 units: 128 characters of up to two units each.
  maxLength: 2 * PASSWORD_MAX_LENGTH,
  description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, any characters, not a common password or the email`,
});

/** A password given to prove who one is: bounded, never checked against the rules. */
const GivenPassword = Type.String({
  minLength: 1,
  maxLength: 2 * PASSWORD_MAX_LENGTH,
  pattern: WHOLE_CHARACTERS,
});

export const AccountId = Type.Integer({ minimum: 1, maximum: GOAL_ID_MAX });

export const Account = namedObject(
  'Account',
  {
    id: AccountId,
    email: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { description: 'The signed-in account' },
);
export type Account = Static<typeof Account>;

/** A session token: 32 random bytes, base64url (43 characters). */
export const SessionToken = Type.String({ description: 'Send as Authorization: Bearer <token>' });

/** Shown once, at sign-up and after each use: it resets the password without email. */
export const RecoveryCode = Type.String({
  description: 'Shown only now; resets the password once, then a new one replaces it',
});

export const Credentials = namedObject('Credentials', { email: Email, password: GivenPassword });
export type Credentials = Static<typeof Credentials>;

export const SignUpInput = namedObject('SignUpInput', { email: Email, password: Password });
export type SignUpInput = Static<typeof SignUpInput>;

/** How many goals from before accounts existed this account received; only once. */
const AdoptedGoals = Type.Optional(Type.Integer({ minimum: 1 }));

/** An answer that starts a session: the account and its token, then what this answer adds. */
function newSession<Added extends TProperties>($id: string, description: string, added: Added) {
  return namedObject(
    $id,
    { account: Account, token: SessionToken, ...added, adoptedGoals: AdoptedGoals },
    { description },
  );
}

export const SessionCreated = newSession(
  'SessionCreated',
  'A new session: its token (send it as Authorization: Bearer) and the account',
  {},
);
export type SessionCreated = Static<typeof SessionCreated>;

export const AccountCreated = newSession(
  'AccountCreated',
  'The account, its first session token, and a recovery code shown only now',
  { recoveryCode: RecoveryCode },
);
export type AccountCreated = Static<typeof AccountCreated>;

export const DeleteAccountInput = namedObject('DeleteAccountInput', { password: GivenPassword });
export type DeleteAccountInput = Static<typeof DeleteAccountInput>;

export const ChangePasswordInput = namedObject('ChangePasswordInput', {
  currentPassword: GivenPassword,
  newPassword: Password,
});
export type ChangePasswordInput = Static<typeof ChangePasswordInput>;

export const RecoveryInput = namedObject('RecoveryInput', {
  email: Email,
  recoveryCode: Type.String({ minLength: 1, maxLength: 100 }),
  newPassword: Password,
});
export type RecoveryInput = Static<typeof RecoveryInput>;

export type PasswordProblem = 'too-short' | 'too-long' | 'common' | 'email';

/** Counted in code points, as a person counts what they typed. */
export function passwordLength(password: string): number {
  return [...password].length;
}

/**
 * What is wrong with a new password, if anything, short of the common-password list (the API
 * holds that). The web tier calls this to explain a refusal before a round trip.
 */
export function checkNewPassword(password: string, email: string): PasswordProblem | undefined {
  const length = passwordLength(password);
  if (length < PASSWORD_MIN_LENGTH) return 'too-short';
  if (length > PASSWORD_MAX_LENGTH) return 'too-long';
  if (password.trim().toLowerCase() === email.trim().toLowerCase()) return 'email';
  return undefined;
}

export const PASSWORD_PROBLEMS: Record<PasswordProblem, string> = {
  'too-short': `Use at least ${PASSWORD_MIN_LENGTH} characters. A few unrelated words make a strong password.`,
  'too-long': `Keep the password to ${PASSWORD_MAX_LENGTH} characters or fewer.`,
  common: 'That password is one of the most common ones, so it is easy to guess. Choose another.',
  email: 'The password cannot be your email address.',
};

/** Sign-in failures never say which part was wrong, for an unknown email too. */
export const SIGN_IN_FAILED = 'The email or password is incorrect.';
