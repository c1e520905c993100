import {
  PASSWORD_PROBLEMS,
  SIGN_IN_FAILED,
  type Account,
  type AccountCreated,
  type SessionCreated,
} from '@goal-tracker/contract';
import { AppError, NotFoundError, WrongCredentialsError } from '../errors.js';
import {
  EmailTakenError,
  type AccountsRepository,
  type AttemptKind,
  type SessionSpec,
} from './accounts-repository.js';
import {
  SIGNIN_WINDOW_SECONDS,
  SIGNUP_WINDOW_SECONDS,
  TooManyRequestsError,
  type AbuseLimits,
} from './limits.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import {
  newRecoveryCode,
  newSessionToken,
  normalizeRecoveryCode,
  sameHash,
  sha256,
} from './secrets.js';
import type { SessionTimeouts } from '../caching/session-cache.js';

export interface AccountsServiceOptions {
  limits: AbuseLimits;
  sessions: SessionTimeouts;
  /**
   * Tells every instance that these accounts' sessions ended (and, with `goals`, that their
   * goals went); resolves once they have been told.
   */
  announceEnded: (accountId: number, options?: { goals?: boolean }) => Promise<void>;
}

interface Limit {
  kind: AttemptKind;
  subject: string;
  max: number;
  windowSeconds: number;
  message: string;
}

function weakPassword(password: string, email: string): void {
  const problem = passwordProblem(password, email);
  if (problem) throw new AppError(422, 'Unprocessable Content', PASSWORD_PROBLEMS[problem]);
}

/** The key under which failures for an email are counted: no email is stored in clear. */
function emailSubject(email: string): string {
  return sha256(email.trim().toLowerCase()).toString('hex');
}

export function accountsService(
  repository: AccountsRepository,
  { limits, sessions, announceEnded }: AccountsServiceOptions,
) {
  const newSession = (): { token: string; spec: SessionSpec } => {
    const token = newSessionToken();
    return { token, spec: { tokenHash: sha256(token), lifetimeSeconds: sessions.absoluteSeconds } };
  };

  /**
   * Counts this attempt against each limit first, then reads the count back in a statement of
   * its own: of attempts racing each other, only those counted within the limit go on, so a
   * burst of guesses sent at once gets no more through than guesses sent one by one. A
   * refused attempt is taken back, so hammering does not stretch the wait. Returns the ids
   * recorded, to keep (failures, sign-ups) or take back (a correct password).
   */
  const admit = async (checks: Limit[]): Promise<number[]> => {
    const active = checks.filter((check) => check.max > 0);
    const ids = await Promise.all(
      active.map((check) => repository.addAttempt(check.kind, check.subject)),
    );
    const counts = await Promise.all(
      active.map((check) =>
        repository.countAttempts(check.kind, check.subject, check.windowSeconds),
      ),
    );
    const over = active.filter((check, index) => (counts[index] ?? 0) > check.max);
    if (over.length === 0) return ids;
    await repository.removeAttempts(ids);
    const waits = await Promise.all(
      over.map((check) =>
        repository.blockedFor(check.kind, check.subject, check.max, check.windowSeconds),
      ),
    );
    throw new TooManyRequestsError((over[0] as Limit).message, Math.max(1, ...waits));
  };

  const addressLimit = (address: string): Limit => ({
    kind: 'signin-address',
    subject: address,
    max: limits.signinFailuresPerAddress,
    windowSeconds: SIGNIN_WINDOW_SECONDS,
    message: 'Too many failed sign-ins from this address. Wait a while, then try again.',
  });

  const signInLimits = (email: string, address: string): Limit[] => [
    {
      kind: 'signin-email',
      subject: emailSubject(email),
      max: limits.signinFailuresPerEmail,
      windowSeconds: SIGNIN_WINDOW_SECONDS,
      message: 'Too many failed sign-ins for this email. Wait a while, then try again.',
    },
    addressLimit(address),
  ];

  /** A sign-in that succeeded: its counted attempts are taken back, and a session starts. */
  const signedIn = async (account: Account, attempts: number[]): Promise<SessionCreated> => {
    await repository.removeAttempts(attempts);
    const session = newSession();
    await repository.startSession(account.id, session.spec);
    return { account: publicAccount(account), token: session.token };
  };

  return {
    async signUp(email: string, password: string, address: string): Promise<AccountCreated> {
      weakPassword(password, email);
      await admit([
        {
          kind: 'signup-address',
          subject: address,
          max: limits.signupsPerAddressPerHour,
          windowSeconds: SIGNUP_WINDOW_SECONDS,
          message: 'Too many sign-ups from this address. Try again in an hour.',
        },
      ]);
      const recoveryCode = newRecoveryCode();
      const passwordHash = await hashPassword(password);
      const session = newSession();
      try {
        const { account, adoptedGoals } = await repository.create(
          { email, passwordHash, recoveryCodeHash: sha256(recoveryCode) },
          session.spec,
        );
        return {
          account,
          token: session.token,
          recoveryCode,
          ...(adoptedGoals > 0 ? { adoptedGoals } : {}),
        };
      } catch (error) {
        if (error instanceof EmailTakenError) {
          throw new AppError(
            409,
            'Conflict',
            'An account with this email already exists. Sign in instead.',
          );
        }
        throw error;
      }
    },

    async signIn(email: string, password: string, address: string): Promise<SessionCreated> {
      const attempts = await admit(signInLimits(email, address));
      const account = await repository.findByEmail(email);
      // The hash runs for an unknown email too: the time taken tells nothing.
      if (!(await verifyPassword(account?.passwordHash, password)) || !account) {
        throw new WrongCredentialsError(SIGN_IN_FAILED);
      }
      return signedIn(account, attempts);
    },

    /**
     * Signs in the account that `prove` names, for a proof other than a password (a passkey):
     * `prove` answers undefined when the proof fails, and those failures count against the
     * same per-address limit as wrong passwords. No email is given, so there is no per-email
     * limit to count against.
     */
    async signInWithProof(
      address: string,
      prove: () => Promise<number | undefined>,
      failure: string,
    ): Promise<SessionCreated> {
      const attempts = await admit([addressLimit(address)]);
      const accountId = await prove();
      const account = accountId === undefined ? undefined : await repository.findById(accountId);
      if (!account) throw new WrongCredentialsError(failure);
      return signedIn(account, attempts);
    },

    async signOut(token: string): Promise<void> {
      const accountId = await repository.endSession(sha256(token));
      if (accountId !== undefined) await announceEnded(accountId);
    },

    async account(accountId: number): Promise<Account> {
      const account = await repository.findById(accountId);
      if (!account) throw new NotFoundError('There is no such account.');
      return publicAccount(account);
    },

    async deleteAccount(accountId: number, password: string): Promise<void> {
      const account = await repository.findById(accountId);
      if (!(await verifyPassword(account?.passwordHash, password))) {
        throw new WrongCredentialsError('The password is incorrect.');
      }
      await repository.deleteAccount(accountId);
      await announceEnded(accountId, { goals: true });
    },

    async changePassword(
      accountId: number,
      currentPassword: string,
      newPassword: string,
    ): Promise<SessionCreated> {
      const account = await repository.findById(accountId);
      if (!account || !(await verifyPassword(account.passwordHash, currentPassword))) {
        throw new WrongCredentialsError('The current password is incorrect.');
      }
      weakPassword(newPassword, account.email);
      const session = newSession();
      await repository.replacePassword(accountId, await hashPassword(newPassword), session.spec);
      await announceEnded(accountId);
      return { account: publicAccount(account), token: session.token };
    },

    async recover(
      email: string,
      recoveryCode: string,
      newPassword: string,
      address: string,
    ): Promise<AccountCreated> {
      weakPassword(newPassword, email);
      // A recovery code is a password too: guesses count as failed sign-ins.
      const attempts = await admit(signInLimits(email, address));
      const account = await repository.findByEmail(email);
      const given = sha256(normalizeRecoveryCode(recoveryCode));
      if (!account || !sameHash(given, account.recoveryCodeHash)) {
        throw new WrongCredentialsError('The email or recovery code is incorrect.');
      }
      const nextCode = newRecoveryCode();
      const session = newSession();
      const recovered = await repository.recover(
        account.id,
        given,
        { passwordHash: await hashPassword(newPassword), recoveryCodeHash: sha256(nextCode) },
        session.spec,
      );
      if (!recovered) throw new WrongCredentialsError('The email or recovery code is incorrect.');
      await repository.removeAttempts(attempts);
      await announceEnded(account.id);
      return { account: publicAccount(account), token: session.token, recoveryCode: nextCode };
    },
  };
}

function publicAccount({ id, email, createdAt }: Account): Account {
  return { id, email, createdAt };
}

export type AccountsService = ReturnType<typeof accountsService>;
