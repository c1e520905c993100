import type { Account } from '@goal-tracker/contract';
import type { Database, Query, Statement } from '../db/database.js';
import { isoTimestamp } from '../db/iso-timestamp.js';

const ACCOUNT = `id, email, ${isoTimestamp('created_at')} AS "createdAt"`;

/** Any constant works; the same in every instance. Held while goals from before accounts are adopted. */
const ADOPTION_LOCK_KEY = 4_741_203_011;

const statements = {
  insertAccount: {
    name: 'accounts-insert',
    text: `INSERT INTO accounts (email, password_hash, recovery_code_hash) VALUES ($1, $2, $3)
      RETURNING ${ACCOUNT}`,
  },
  findByEmail: {
    name: 'accounts-find-by-email',
    text: `SELECT ${ACCOUNT}, password_hash AS "passwordHash", recovery_code_hash AS "recoveryCodeHash"
      FROM accounts WHERE lower(email) = lower($1)`,
  },
  findById: {
    name: 'accounts-find',
    text: `SELECT ${ACCOUNT}, password_hash AS "passwordHash", recovery_code_hash AS "recoveryCodeHash"
      FROM accounts WHERE id = $1`,
  },
  setPassword: {
    name: 'accounts-set-password',
    text: 'UPDATE accounts SET password_hash = $2 WHERE id = $1',
  },
  setPasswordAndRecoveryCode: {
    name: 'accounts-set-password-and-recovery-code',
    // Only while the code is still the one checked: two uses of one code cannot both win.
    text: `UPDATE accounts SET password_hash = $2, recovery_code_hash = $3
      WHERE id = $1 AND recovery_code_hash = $4`,
  },
  deleteAccount: { name: 'accounts-delete', text: 'DELETE FROM accounts WHERE id = $1' },
  anyUnowned: {
    name: 'goals-any-unowned',
    text: 'SELECT EXISTS (SELECT 1 FROM goals WHERE account_id IS NULL) AS "any"',
  },
  lockAdoption: { name: 'goals-lock-adoption', text: 'SELECT pg_advisory_xact_lock($1)' },
  adoptUnowned: {
    name: 'goals-adopt-unowned',
    text: 'UPDATE goals SET account_id = $1 WHERE account_id IS NULL',
  },
  insertSession: {
    name: 'sessions-insert',
    text: `INSERT INTO sessions (token_hash, account_id, expires_at)
      VALUES ($1, $2, now() + make_interval(secs => $3))`,
  },
  useSession: {
    name: 'sessions-use',
    // Finding a live session, its account, and recording its use are one statement: one
    // round trip, after which the account is known without asking again.
    text: `UPDATE sessions s SET last_used_at = now() FROM accounts a
      WHERE s.token_hash = $1 AND a.id = s.account_id AND s.expires_at > now()
        AND s.last_used_at > now() - make_interval(secs => $2)
      RETURNING (extract(epoch FROM s.expires_at) * 1000)::float8 AS "expiresAt",
        a.id, a.email,
        ${isoTimestamp('a.created_at')} AS "createdAt"`,
  },
  deleteSession: {
    name: 'sessions-delete',
    text: 'DELETE FROM sessions WHERE token_hash = $1 RETURNING account_id AS "accountId"',
  },
  deleteAccountSessions: {
    name: 'sessions-delete-account',
    text: 'DELETE FROM sessions WHERE account_id = $1',
  },
  pruneSessions: {
    name: 'sessions-prune',
    text: `DELETE FROM sessions WHERE token_hash IN (
      SELECT token_hash FROM sessions
      WHERE expires_at < now() OR last_used_at < now() - make_interval(secs => $1)
      LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  },
  addAttempt: {
    name: 'attempts-add',
    text: 'INSERT INTO auth_attempts (kind, subject) VALUES ($1, $2) RETURNING id',
  },
  countAttempts: {
    name: 'attempts-count',
    text: `SELECT count(*)::int AS count FROM auth_attempts
      WHERE kind = $1 AND subject = $2 AND at > now() - make_interval(secs => $3)`,
  },
  removeAttempts: {
    name: 'attempts-remove',
    text: 'DELETE FROM auth_attempts WHERE id = ANY($1::bigint[])',
  },
  blockedFor: {
    name: 'attempts-blocked-for',
    // The limit-th most recent attempt in the window: until it leaves the window, one more
    // would be over the limit.
    text: `SELECT ceil(extract(epoch FROM at + make_interval(secs => $4) - now()))::int AS seconds
      FROM auth_attempts
      WHERE kind = $1 AND subject = $2 AND at > now() - make_interval(secs => $4)
      ORDER BY at DESC OFFSET $3 - 1 LIMIT 1`,
  },
  pruneAttempts: {
    name: 'attempts-prune',
    text: `DELETE FROM auth_attempts WHERE id IN (
      SELECT id FROM auth_attempts WHERE at < now() - make_interval(secs => $1) LIMIT $2)`,
  },
} satisfies Record<string, Statement>;

export interface StoredAccount extends Account {
  passwordHash: string;
  recoveryCodeHash: Buffer;
}

export interface LiveSession {
  account: Account;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface NewAccount {
  email: string;
  passwordHash: string;
  recoveryCodeHash: Buffer;
}

export interface SessionSpec {
  tokenHash: Buffer;
  lifetimeSeconds: number;
}

export type AttemptKind = 'signin-email' | 'signin-address' | 'signup-address';

/** A unique index said no: the email has an account already. */
export class EmailTakenError extends Error {
  override name = 'EmailTakenError';
}

const PRUNE_BATCH = 5000;

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === '23505';
}

async function startSession(query: Query, accountId: number, session: SessionSpec) {
  await query(statements.insertSession, [session.tokenHash, accountId, session.lifetimeSeconds]);
}

export function accountsRepository(db: Database) {
  const pruneInBatches = async (statement: Statement, values: unknown[]) => {
    let pruned = 0;
    for (;;) {
      const { rowCount } = await db.query(statement, [...values, PRUNE_BATCH], {
        idempotent: true,
      });
      pruned += rowCount;
      if (rowCount < PRUNE_BATCH) return pruned;
    }
  };

  return {
    /**
     * Creates the account and its first session. The first account ever made also receives
     * the goals from before accounts existed; says how many.
     */
    create(account: NewAccount, session: SessionSpec) {
      return db
        .transaction(async (query) => {
          const { rows } = await query<Account>(statements.insertAccount, [
            account.email,
            account.passwordHash,
            account.recoveryCodeHash,
          ]);
          const created = rows[0] as Account;
          await startSession(query, created.id, session);
          let adoptedGoals = 0;
          const unowned = await query<{ any: boolean }>(statements.anyUnowned, []);
          if (unowned.rows[0]?.any) {
            // Two first sign-ups at once: the second waits, then finds nothing left to adopt.
            await query(statements.lockAdoption, [ADOPTION_LOCK_KEY]);
            adoptedGoals = (await query(statements.adoptUnowned, [created.id])).rowCount;
          }
          return { account: created, adoptedGoals };
        })
        .catch((error: unknown) => {
          if (isUniqueViolation(error)) throw new EmailTakenError();
          throw error;
        });
    },

    async findByEmail(email: string): Promise<StoredAccount | undefined> {
      const { rows } = await db.query<StoredAccount>(statements.findByEmail, [email], {
        idempotent: true,
      });
      return rows[0];
    },

    async findById(id: number): Promise<StoredAccount | undefined> {
      const { rows } = await db.query<StoredAccount>(statements.findById, [id], {
        idempotent: true,
      });
      return rows[0];
    },

    async startSession(accountId: number, session: SessionSpec): Promise<void> {
      await db.query(
        statements.insertSession,
        [session.tokenHash, accountId, session.lifetimeSeconds],
        { idempotent: true },
      );
    },

    /** The session for this token hash if it is live, its use recorded. */
    async useSession(tokenHash: Buffer, idleSeconds: number): Promise<LiveSession | undefined> {
      const { rows } = await db.query<Account & { expiresAt: number }>(
        statements.useSession,
        [tokenHash, idleSeconds],
        { idempotent: true },
      );
      const row = rows[0];
      if (!row) return undefined;
      const { expiresAt, ...account } = row;
      return { account, expiresAt };
    },

    /** Ends one session; says whose it was. */
    async endSession(tokenHash: Buffer): Promise<number | undefined> {
      const { rows } = await db.query<{ accountId: number }>(
        statements.deleteSession,
        [tokenHash],
        { idempotent: true },
      );
      return rows[0]?.accountId;
    },

    /** A new password: every session of the account ends, and one new session starts. */
    replacePassword(accountId: number, passwordHash: string, session: SessionSpec) {
      return db.transaction(async (query) => {
        await query(statements.setPassword, [accountId, passwordHash]);
        await query(statements.deleteAccountSessions, [accountId]);
        await startSession(query, accountId, session);
      });
    },

    /**
     * A recovery: new password and recovery code, every session ended, one new session.
     * False when the code was used meanwhile.
     */
    recover(
      accountId: number,
      usedCodeHash: Buffer,
      changes: { passwordHash: string; recoveryCodeHash: Buffer },
      session: SessionSpec,
    ): Promise<boolean> {
      return db.transaction(async (query) => {
        const { rowCount } = await query(statements.setPasswordAndRecoveryCode, [
          accountId,
          changes.passwordHash,
          changes.recoveryCodeHash,
          usedCodeHash,
        ]);
        if (rowCount === 0) return false;
        await query(statements.deleteAccountSessions, [accountId]);
        await startSession(query, accountId, session);
        return true;
      });
    },

    /** Deletes the account; its goals, keys, sessions and passkeys go with it. */
    async deleteAccount(accountId: number): Promise<void> {
      await db.query(statements.deleteAccount, [accountId], { idempotent: true });
    },

    /** Records an attempt (committed at once); says its id. */
    async addAttempt(kind: AttemptKind, subject: string): Promise<number> {
      // Not idempotent: counted twice after a lost connection would only be stricter.
      const { rows } = await db.query<{ id: number }>(statements.addAttempt, [kind, subject]);
      return (rows[0] as { id: number }).id;
    },

    /** Attempts of this kind and subject in the last `windowSeconds`, committed ones only. */
    async countAttempts(kind: AttemptKind, subject: string, windowSeconds: number) {
      const { rows } = await db.query<{ count: number }>(
        statements.countAttempts,
        [kind, subject, windowSeconds],
        { idempotent: true },
      );
      return rows[0]?.count ?? 0;
    },

    async removeAttempts(ids: number[]): Promise<void> {
      if (ids.length > 0) await db.query(statements.removeAttempts, [ids], { idempotent: true });
    },

    /** Seconds until one more attempt is within `limit` per `windowSeconds`; 0 if it is now. */
    async blockedFor(
      kind: AttemptKind,
      subject: string,
      limit: number,
      windowSeconds: number,
    ): Promise<number> {
      const { rows } = await db.query<{ seconds: number }>(
        statements.blockedFor,
        [kind, subject, limit, windowSeconds],
        { idempotent: true },
      );
      return Math.max(0, rows[0]?.seconds ?? 0);
    },

    pruneSessions: (idleSeconds: number) => pruneInBatches(statements.pruneSessions, [idleSeconds]),
    pruneAttempts: (maxAgeSeconds: number) =>
      pruneInBatches(statements.pruneAttempts, [maxAgeSeconds]),
  };
}

export type AccountsRepository = ReturnType<typeof accountsRepository>;
