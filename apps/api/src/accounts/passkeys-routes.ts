import {
  AddPasskeyInput,
  Passkey,
  PasskeyCreationOptions,
  PasskeyIdParams,
  PasskeyList,
  PasskeyRequestOptions,
  PasskeySignInInput,
  SessionCreated,
} from '@goal-tracker/contract';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { badRequest, noBody, problemResponse, unavailable } from '../routes/schemas.js';
import { needsSession, type Authenticate } from './authenticate.js';
import { sendNewSession } from './new-session.js';
import type { PasskeysService } from './passkeys-service.js';

const refused = problemResponse(
  'The passkey was refused: malformed, expired or used challenge, wrong origin or site, or added already',
);

export function passkeysRoutes(
  service: PasskeysService,
  authenticate: Authenticate,
): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async
  return async (app) => {
    app.post(
      '/sessions/passkey/options',
      {
        schema: {
          operationId: 'startPasskeySignIn',
          tags: ['sessions'],
          summary: 'Start a passkey sign-in: options for navigator.credentials.get()',
          description:
            'No email is asked: any passkey of this site may answer. The challenge is valid once, for 5 minutes.',
          response: { 200: PasskeyRequestOptions, 503: unavailable },
        },
      },
      async (_request, reply) =>
        reply.header('cache-control', 'no-store').send(await service.signInOptions()),
    );

    app.post(
      '/sessions/passkey',
      {
        schema: {
          operationId: 'signInWithPasskey',
          tags: ['sessions'],
          summary: 'Sign in with a passkey: what navigator.credentials.get() answered',
          description:
            'Answers a session exactly as POST /sessions does. Failures count against the same per-address limit as wrong passwords.',
          body: PasskeySignInInput,
          response: {
            201: SessionCreated,
            400: badRequest,
            401: problemResponse('The passkey could not be verified'),
            429: problemResponse('Too many failed sign-ins; Retry-After says when to try again'),
            503: unavailable,
          },
        },
      },
      async (request, reply) =>
        sendNewSession(reply, await service.signIn(request.body, request.ip, request.log)),
    );

    // Everything below needs a session.
    app.post(
      '/passkeys/registration-options',
      {
        onRequest: authenticate,
        schema: needsSession({
          operationId: 'startAddingPasskey',
          tags: ['passkeys'],
          summary: 'Start adding a passkey: options for navigator.credentials.create()',
          description:
            "Excludes the account's passkeys, so an authenticator is not added twice. The challenge is valid once, for 5 minutes.",
          response: { 200: PasskeyCreationOptions },
        }),
      },
      async (request, reply) =>
        reply
          .header('cache-control', 'no-store')
          .send(await service.registrationOptions(request.accountId)),
    );

    app.post(
      '/passkeys',
      {
        onRequest: authenticate,
        schema: needsSession({
          operationId: 'addPasskey',
          description:
            "Verifies the authenticator's answer against the challenge from startAddingPasskey (usable once, for 5 minutes), the configured origins and relying party, then stores the passkey.",
          tags: ['passkeys'],
          summary: 'Add a passkey: what navigator.credentials.create() answered',
          body: AddPasskeyInput,
          response: { 201: Passkey, 400: refused },
        }),
      },
      async (request, reply) =>
        reply.code(201).send(await service.add(request.accountId, request.body)),
    );

    app.get(
      '/passkeys',
      {
        onRequest: authenticate,
        schema: needsSession({
          operationId: 'listPasskeys',
          description: 'The passkeys that can sign this account in, oldest first.',
          tags: ['passkeys'],
          summary: "The account's passkeys, oldest first",
          response: { 200: PasskeyList },
        }),
      },
      async (request) => ({ passkeys: await service.list(request.accountId) }),
    );

    app.delete(
      '/passkeys/:id',
      {
        onRequest: authenticate,
        schema: needsSession({
          operationId: 'deletePasskey',
          description:
            "The passkey stops signing anyone in. Another account's passkey is 404, like a missing one.",
          tags: ['passkeys'],
          summary: 'Remove a passkey: it signs in no more',
          params: PasskeyIdParams,
          response: {
            204: noBody('Removed'),
            400: badRequest,
            404: problemResponse('The account has no such passkey'),
          },
        }),
      },
      async (request, reply) => {
        await service.remove(request.accountId, request.params.id);
        return reply.code(204).send();
      },
    );
  };
}
