import { Type, type Static } from '@sinclair/typebox';
import { GOAL_ID_MAX } from './goal.js';
import { GOAL_NAME_PATTERN } from './goal-name.js';
import { namedObject } from './named-object.js';

/** The passkeys table's name column is VARCHAR(100). */
export const PASSKEY_NAME_MAX_LENGTH = 100;

export const PasskeyId = Type.Integer({ minimum: 1, maximum: GOAL_ID_MAX });

export const PasskeyName = Type.String({
  minLength: 1,
  maxLength: PASSKEY_NAME_MAX_LENGTH,
  pattern: GOAL_NAME_PATTERN,
  description: 'Trimmed, 1 to 100 characters, no control characters',
});

export const Passkey = namedObject(
  'Passkey',
  {
    id: PasskeyId,
    name: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When it last signed in; null until then',
    }),
  },
  { description: 'A passkey of the signed-in account' },
);
export type Passkey = Static<typeof Passkey>;

export const PasskeyList = namedObject(
  'PasskeyList',
  { passkeys: Type.Array(Passkey) },
  { description: "The account's passkeys" },
);
export type PasskeyList = Static<typeof PasskeyList>;

export const PasskeyIdParams = Type.Object({ id: PasskeyId }, { additionalProperties: false });
export type PasskeyIdParams = Static<typeof PasskeyIdParams>;

/**
 * WebAuthn's JSON forms (W3C WebAuthn Level 3, `toJSON()` and `parse…FromJSON()`) are only
 * outlined here: the API checks every part of a response cryptographically, so a schema
 * restating them would add nothing but drift.
 */
const credentialResponse = (description: string) =>
  Type.Object(
    {
      id: Type.String({ minLength: 1, maxLength: 1024 }),
      rawId: Type.String({ minLength: 1, maxLength: 1024 }),
      type: Type.Literal('public-key'),
      response: Type.Object({ clientDataJSON: Type.String() }, { additionalProperties: true }),
    },
    { additionalProperties: true, description },
  );

const ceremonyOptions = (description: string) =>
  Type.Object(
    { challenge: Type.String({ description: 'base64url; valid once, for 5 minutes' }) },
    { additionalProperties: true, description },
  );

export const PasskeyCreationOptions = ceremonyOptions(
  'PublicKeyCredentialCreationOptionsJSON: pass to PublicKeyCredential.parseCreationOptionsFromJSON(), then navigator.credentials.create({ publicKey })',
);
export const PasskeyRequestOptions = ceremonyOptions(
  'PublicKeyCredentialRequestOptionsJSON: pass to PublicKeyCredential.parseRequestOptionsFromJSON(), then navigator.credentials.get({ publicKey })',
);

export const AddPasskeyInput = namedObject('AddPasskeyInput', {
  response: credentialResponse(
    'RegistrationResponseJSON: what navigator.credentials.create() gave, as its toJSON()',
  ),
  name: Type.Optional(PasskeyName),
});
export type AddPasskeyInput = Static<typeof AddPasskeyInput>;

export const PasskeySignInInput = namedObject('PasskeySignInInput', {
  response: credentialResponse(
    'AuthenticationResponseJSON: what navigator.credentials.get() gave, as its toJSON()',
  ),
});
export type PasskeySignInInput = Static<typeof PasskeySignInInput>;

/** Every failed passkey sign-in says only this, whatever went wrong. */
export const PASSKEY_SIGN_IN_FAILED = 'The passkey could not be verified.';
