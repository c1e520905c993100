import type { Passkey } from '@goal-tracker/contract';
import type { Database, Statement } from '../db/database.js';
import { isoTimestamp } from '../db/iso-timestamp.js';

const PASSKEY = `id, name, ${isoTimestamp('created_at')} AS "createdAt",
  ${isoTimestamp('last_used_at')} AS "lastUsedAt"`;

const statements = {
  insertChallenge: {
    name: 'webauthn-challenges-insert',
    text: `INSERT INTO webauthn_challenges (challenge, account_id, expires_at)
      VALUES ($1, $2, now() + make_interval(secs => $3))`,
  },
  takeChallenge: {
    name: 'webauthn-challenges-take',
    // Taken by the ceremony it was made for (an account's, or a sign-in's with none), once.
    text: `DELETE FROM webauthn_challenges
      WHERE challenge = $1 AND account_id IS NOT DISTINCT FROM $2 AND expires_at > now()
      RETURNING challenge`,
  },
  pruneChallenges: {
    name: 'webauthn-challenges-prune',
    text: 'DELETE FROM webauthn_challenges WHERE expires_at < now()',
  },
  insertPasskey: {
    name: 'passkeys-insert',
    text: `INSERT INTO passkeys (account_id, credential_id, public_key, counter, transports, name)
      VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${PASSKEY}`,
  },
  listPasskeys: {
    name: 'passkeys-list',
    text: `SELECT ${PASSKEY} FROM passkeys WHERE account_id = $1 ORDER BY id`,
  },
  credentialsOf: {
    name: 'passkeys-credentials-of',
    text: `SELECT credential_id AS "credentialId", transports FROM passkeys WHERE account_id = $1`,
  },
  findCredential: {
    name: 'passkeys-find-credential',
    text: `SELECT id, account_id AS "accountId", credential_id AS "credentialId",
        public_key AS "publicKey", counter, transports
      FROM passkeys WHERE credential_id = $1`,
  },
  recordUse: {
    name: 'passkeys-record-use',
    text: 'UPDATE passkeys SET counter = $2, last_used_at = now() WHERE id = $1',
  },
  deletePasskey: {
    name: 'passkeys-delete',
    text: 'DELETE FROM passkeys WHERE id = $1 AND account_id = $2',
  },
} satisfies Record<string, Statement>;

/** What verifying a sign-in needs of a stored passkey. */
export interface StoredCredential {
  id: number;
  accountId: number;
  /** base64url, as the browser names it. */
  credentialId: string;
  /** COSE-encoded. */
  publicKey: Buffer;
  counter: number;
  transports: string[];
}

export interface NewPasskey {
  accountId: number;
  credentialId: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  name: string;
}

/** A unique index said no: this authenticator's credential is registered already. */
export class CredentialTakenError extends Error {
  override name = 'CredentialTakenError';
}

export function passkeysRepository(db: Database) {
  return {
    async addChallenge(
      challenge: string,
      accountId: number | null,
      lifetimeSeconds: number,
    ): Promise<void> {
      await db.query(statements.insertChallenge, [challenge, accountId, lifetimeSeconds]);
    },

    /**
     * Deletes the challenge if it is live and was made for `accountId` (null: for a sign-in);
     * says whether it was. Not retried after a lost connection: the first try may have taken it.
     */
    async takeChallenge(challenge: string, accountId: number | null): Promise<boolean> {
      const { rowCount } = await db.query(statements.takeChallenge, [challenge, accountId]);
      return rowCount === 1;
    },

    async add(passkey: NewPasskey): Promise<Passkey> {
      try {
        const { rows } = await db.query<Passkey>(statements.insertPasskey, [
          passkey.accountId,
          passkey.credentialId,
          Buffer.from(passkey.publicKey),
          passkey.counter,
          passkey.transports,
          passkey.name,
        ]);
        return rows[0] as Passkey;
      } catch (error) {
        if ((error as { code?: unknown }).code === '23505') throw new CredentialTakenError();
        throw error;
      }
    },

    async list(accountId: number): Promise<Passkey[]> {
      const { rows } = await db.query<Passkey>(statements.listPasskeys, [accountId], {
        idempotent: true,
      });
      return rows;
    },

    /** The account's credentials, for the authenticator to recognise and refuse to repeat. */
    async credentialsOf(accountId: number) {
      const { rows } = await db.query<{ credentialId: string; transports: string[] }>(
        statements.credentialsOf,
        [accountId],
        { idempotent: true },
      );
      return rows;
    },

    async findCredential(credentialId: string): Promise<StoredCredential | undefined> {
      const { rows } = await db.query<StoredCredential>(statements.findCredential, [credentialId], {
        idempotent: true,
      });
      return rows[0];
    },

    async recordUse(id: number, counter: number): Promise<void> {
      await db.query(statements.recordUse, [id, counter], { idempotent: true });
    },

    /** Deletes the account's passkey; false when it has none with this id. */
    async remove(id: number, accountId: number): Promise<boolean> {
      const { rowCount } = await db.query(statements.deletePasskey, [id, accountId], {
        idempotent: true,
      });
      return rowCount === 1;
    },

    /**
     * One statement, no batches: challenges live five minutes and pruning runs hourly, so the
     * table never holds more than about an hour of ceremonies.
     */
    async pruneChallenges(): Promise<number> {
      const { rowCount } = await db.query(statements.pruneChallenges, [], { idempotent: true });
      return rowCount;
    },
  };
}

export type PasskeysRepository = ReturnType<typeof passkeysRepository>;
