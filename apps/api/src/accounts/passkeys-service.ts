import {
  PASSKEY_SIGN_IN_FAILED,
  type AddPasskeyInput,
  type Passkey,
  type PasskeySignInInput,
  type SessionCreated,
} from '@goal-tracker/contract';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type * as SimpleWebAuthn from '@simplewebauthn/server';
import type { BaseLogger } from 'pino';
import type { WebAuthnConfig } from '../config.js';
import { AppError, NotFoundError } from '../errors.js';
import type { AccountsService } from './accounts-service.js';
import { CredentialTakenError, type PasskeysRepository } from './passkeys-repository.js';

/** How long a ceremony may take, from the options to the answer; a challenge lives as long. */
export const CHALLENGE_LIFETIME_SECONDS = 5 * 60;

/**
 * 'preferred', not 'required': a security key without a PIN still works, proving possession.
 * Verification then accepts an answer without user verification too, or such a key could be
 * added and never used.
 */
const USER_VERIFICATION = 'preferred';

export interface PasskeysServiceOptions {
  webAuthn: WebAuthnConfig;
  accounts: Pick<AccountsService, 'account' | 'signInWithProof'>;
}

type Log = Pick<BaseLogger, 'info'>;

class PasskeyRefusedError extends AppError {
  constructor(detail: string, cause?: unknown) {
    super(400, 'Bad Request', detail, { cause });
  }
}

/**
 * The user handle the authenticator keeps with a passkey and answers at sign-in: the account
 * id, which the API shows its owner anyway; no email or name.
 */
function userHandle(accountId: number): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(String(accountId));
}

/**
 * Imported at the first ceremony, not at start: with the certificate libraries it brings, it
 * takes longer to load than the rest of the API takes to start, and a quick start is what lets
 * a new instance take traffic soon. The first ceremony on an instance waits for it instead.
 */
let library: Promise<typeof SimpleWebAuthn> | undefined;
const webauthn = () => (library ??= import('@simplewebauthn/server'));

/** The challenge the browser signed, read from the answer itself (unverified until checked). */
function challengeOf(response: { response: { clientDataJSON: string } }): string | undefined {
  try {
    const clientData = JSON.parse(
      Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'),
    ) as { challenge?: unknown } | null;
    return typeof clientData?.challenge === 'string' ? clientData.challenge : undefined;
  } catch {
    return undefined;
  }
}

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const today = () => new Date().toISOString().slice(0, 10);

export function passkeysService(
  repository: PasskeysRepository,
  { webAuthn, accounts }: PasskeysServiceOptions,
) {
  const expected = { expectedOrigin: webAuthn.origins, expectedRPID: webAuthn.rpId };

  return {
    /** Options for navigator.credentials.create(); their challenge is kept for this account. */
    async registrationOptions(accountId: number): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const [account, existing] = await Promise.all([
        accounts.account(accountId),
        repository.credentialsOf(accountId),
      ]);
      const { generateRegistrationOptions } = await webauthn();
      const options = await generateRegistrationOptions({
        rpName: webAuthn.rpName,
        rpID: webAuthn.rpId,
        userID: userHandle(accountId),
        userName: account.email,
        userDisplayName: account.email,
        timeout: CHALLENGE_LIFETIME_SECONDS * 1000,
        excludeCredentials: existing.map(({ credentialId, transports }) => ({
          id: credentialId,
          transports,
        })),
        // A discoverable credential is what lets a sign-in start without an email.
        authenticatorSelection: { residentKey: 'required', userVerification: USER_VERIFICATION },
      });
      await repository.addChallenge(options.challenge, accountId, CHALLENGE_LIFETIME_SECONDS);
      return options;
    },

    /** Verifies what navigator.credentials.create() answered and keeps the passkey. */
    async add(accountId: number, input: AddPasskeyInput): Promise<Passkey> {
      const response = input.response as unknown as RegistrationResponseJSON;
      const challenge = challengeOf(response);
      if (challenge === undefined || !(await repository.takeChallenge(challenge, accountId))) {
        throw new PasskeyRefusedError(
          'This passkey request has expired or was already used. Start adding the passkey again.',
        );
      }
      const { verifyRegistrationResponse } = await webauthn();
      let credential;
      try {
        const verification = await verifyRegistrationResponse({
          response,
          expectedChallenge: challenge,
          ...expected,
          requireUserVerification: false,
        });
        if (!verification.verified) throw new Error('the attestation did not verify');
        credential = verification.registrationInfo.credential;
      } catch (error) {
        throw new PasskeyRefusedError(`The passkey could not be added: ${messageOf(error)}`, error);
      }
      try {
        return await repository.add({
          accountId,
          credentialId: credential.id,
          publicKey: credential.publicKey,
          counter: credential.counter,
          transports: credential.transports ?? response.response.transports ?? [],
          name: input.name?.trim() || `Passkey added ${today()}`,
        });
      } catch (error) {
        if (!(error instanceof CredentialTakenError)) throw error;
        throw new PasskeyRefusedError('This passkey has been added already.');
      }
    },

    list: (accountId: number) => repository.list(accountId),

    async remove(accountId: number, passkeyId: number): Promise<void> {
      if (!(await repository.remove(passkeyId, accountId))) {
        throw new NotFoundError('There is no such passkey.');
      }
    },

    /** Options for navigator.credentials.get(), for any passkey of this site (no email asked). */
    async signInOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const { generateAuthenticationOptions } = await webauthn();
      const options = await generateAuthenticationOptions({
        rpID: webAuthn.rpId,
        userVerification: USER_VERIFICATION,
        timeout: CHALLENGE_LIFETIME_SECONDS * 1000,
      });
      await repository.addChallenge(options.challenge, null, CHALLENGE_LIFETIME_SECONDS);
      return options;
    },

    /**
     * Verifies what navigator.credentials.get() answered and starts a session for the
     * passkey's account. Every failure answers the same 401; the log says which it was.
     */
    signIn(input: PasskeySignInInput, address: string, log: Log): Promise<SessionCreated> {
      const response = input.response as unknown as AuthenticationResponseJSON;
      const refuse = (reason: string) => {
        log.info({ reason }, 'passkey sign-in refused');
        return undefined;
      };
      const prove = async (): Promise<number | undefined> => {
        const challenge = challengeOf(response);
        if (challenge === undefined || !(await repository.takeChallenge(challenge, null))) {
          return refuse('unknown, expired or used challenge');
        }
        const credential = await repository.findCredential(response.id);
        if (!credential) return refuse('unknown credential');
        const handle = response.response.userHandle;
        if (handle !== undefined && handle !== base64url(userHandle(credential.accountId))) {
          return refuse('user handle of another account');
        }
        const { verifyAuthenticationResponse } = await webauthn();
        let newCounter;
        try {
          const { verified, authenticationInfo } = await verifyAuthenticationResponse({
            response,
            expectedChallenge: challenge,
            ...expected,
            credential: {
              id: credential.credentialId,
              publicKey: new Uint8Array(credential.publicKey),
              counter: credential.counter,
              transports: credential.transports,
            },
            requireUserVerification: false,
          });
          if (!verified) return refuse('the signature did not verify');
          newCounter = authenticationInfo.newCounter;
        } catch (error) {
          return refuse(messageOf(error));
        }
        await repository.recordUse(credential.id, newCounter);
        return credential.accountId;
      };
      return accounts.signInWithProof(address, prove, PASSKEY_SIGN_IN_FAILED);
    },
  };
}

export type PasskeysService = ReturnType<typeof passkeysService>;
