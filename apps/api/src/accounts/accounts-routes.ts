import {
  Account,
  AccountCreated,
  ChangePasswordInput,
  Credentials,
  DeleteAccountInput,
  RecoveryInput,
  SessionCreated,
  SignUpInput,
} from '@goal-tracker/contract';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { rewriteBodyString } from '../http/body-string.js';
import { badRequest, noBody, problemResponse, unavailable } from '../routes/schemas.js';
import type { AccountsService } from './accounts-service.js';
import { needsSession, type Authenticate } from './authenticate.js';
import { sendNewSession } from './new-session.js';

/** Emails are trimmed before validation; passwords are taken exactly as given. */
const trimEmail = rewriteBodyString('email', (email) => email.trim());

const unauthorized = problemResponse(
  'No valid session token (see WWW-Authenticate), or wrong credentials',
);
const tooMany = problemResponse('Too many attempts; Retry-After says when to try again');
const weak = problemResponse('The new password is too short, too long, common, or the email');

/**
 * The schema of a route that starts a session from an email (sign-up, sign-in, recovery): the
 * answers each of them can give besides its own.
 */
function fromEmail<Schema extends { response: object }>(schema: Schema) {
  return {
    ...schema,
    response: { 400: badRequest, 429: tooMany, 503: unavailable, ...schema.response },
  };
}

/** The schema of a route behind the session token, whose 401 may also refuse a password. */
function behindSession<Schema extends { response: object }>(schema: Schema) {
  return needsSession(schema, unauthorized);
}

export function accountsRoutes(
  service: AccountsService,
  authenticate: Authenticate,
): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async
  return async (app) => {
    app.post(
      '/accounts',
      {
        preValidation: trimEmail,
        schema: fromEmail({
          operationId: 'signUp',
          tags: ['accounts'],
          summary: 'Sign up: create an account and its first session',
          description:
            'Answers the session token and a one-time recovery code, shown only now. No email is sent.',
          body: SignUpInput,
          response: {
            201: AccountCreated,
            409: problemResponse('An account with this email already exists'),
            422: weak,
          },
        }),
      },
      async ({ body, ip }, reply) =>
        sendNewSession(reply, await service.signUp(body.email, body.password, ip)),
    );

    app.post(
      '/sessions',
      {
        preValidation: trimEmail,
        schema: fromEmail({
          operationId: 'signIn',
          description:
            'Answers a new session token at every sign-in. A wrong password and an unknown email get the same 401 in the same time. After 5 failures for one email, or 20 from one address, in 15 minutes, every attempt is 429 until the window passes.',
          tags: ['sessions'],
          summary: 'Sign in with email and password',
          body: Credentials,
          response: { 201: SessionCreated, 401: unauthorized },
        }),
      },
      async ({ body, ip }, reply) =>
        sendNewSession(reply, await service.signIn(body.email, body.password, ip)),
    );

    app.post(
      '/account/recovery',
      {
        preValidation: trimEmail,
        schema: fromEmail({
          operationId: 'recoverAccount',
          tags: ['accounts'],
          summary: 'Reset the password with the recovery code',
          description:
            'Ends every session and answers a new one, with a new recovery code that replaces the used one.',
          body: RecoveryInput,
          response: { 201: AccountCreated, 401: unauthorized, 422: weak },
        }),
      },
      async (request, reply) => {
        const { email, recoveryCode, newPassword } = request.body;
        return sendNewSession(
          reply,
          await service.recover(email, recoveryCode, newPassword, request.ip),
        );
      },
    );

    // Everything below needs a session.
    app.delete(
      '/sessions/current',
      {
        onRequest: authenticate,
        schema: behindSession({
          operationId: 'signOut',
          description:
            'Ends the session whose token the request carries, on every API instance, before answering.',
          tags: ['sessions'],
          summary: 'Sign out: the token stops working at once, on every instance',
          response: { 204: noBody('Signed out') },
        }),
      },
      async (request, reply) => {
        await service.signOut(request.sessionToken);
        return reply.code(204).send();
      },
    );

    app.get(
      '/account',
      {
        onRequest: authenticate,
        schema: behindSession({
          operationId: 'getAccount',
          description:
            'The account the token signs in: its id, email (as typed) and when it was made.',
          tags: ['accounts'],
          summary: 'The signed-in account',
          response: { 200: Account },
        }),
      },
      // Known with the session: no database round trip on every page load.
      (request) => request.account,
    );

    app.delete(
      '/account',
      {
        onRequest: authenticate,
        schema: behindSession({
          operationId: 'deleteAccount',
          description:
            'Needs the password. Deletes the account with its goals, idempotency keys, sessions and passkeys, at once.',
          tags: ['accounts'],
          summary: 'Delete the account with its goals, sessions and passkeys',
          body: DeleteAccountInput,
          response: { 204: noBody('Deleted, with everything it held'), 400: badRequest },
        }),
      },
      async (request, reply) => {
        await service.deleteAccount(request.accountId, request.body.password);
        return reply.code(204).send();
      },
    );

    app.post(
      '/account/password',
      {
        onRequest: authenticate,
        schema: behindSession({
          operationId: 'changePassword',
          description:
            'Needs the current password. Ends every session of the account, this one included, and answers a new one.',
          tags: ['accounts'],
          summary: 'Change the password: every session ends, and a new one is answered',
          body: ChangePasswordInput,
          response: { 201: SessionCreated, 400: badRequest, 422: weak },
        }),
      },
      async (request, reply) => {
        const { currentPassword, newPassword } = request.body;
        return sendNewSession(
          reply,
          await service.changePassword(request.accountId, currentPassword, newPassword),
        );
      },
    );
  };
}
