import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from './api-result.js';
import type { ApiFailure } from './api-client.js';
import type { Assets } from './assets.js';
import { sendHtml } from './responses.js';
import { isCrossSite } from './security.js';
import { clearSessionCookie, sessionToken } from './session.js';
import { errorPage } from './views/layout.js';

/** What the plain forms post: urlencoded fields, parsed by @fastify/formbody. */
export type FormBody = Record<string, string | string[] | undefined> | undefined;

export function field(body: FormBody, key: string): string {
  const value = body?.[key];
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : '';
}

const FORM_MEDIA_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/** The status a page answers with when the API could not. */
export const FAILURE_STATUS: Record<ApiFailure, number> = {
  unavailable: 503,
  timeout: 504,
  'bad-gateway': 502,
};

/**
 * The plain-form routes' guards. Another site must not be able to drive these forms (a forged
 * sign-in or sign-out included), checked before the body is read; and the body must be the
 * form's fields.
 */
export function sameSiteOnly(assets: Assets) {
  return {
    onRequest(request: FastifyRequest, reply: FastifyReply, done: () => void) {
      if (!isCrossSite(request)) return done();
      request.log.warn({ origin: request.headers.origin }, 'refused a cross-site form post');
      sendHtml(
        request,
        reply,
        403,
        errorPage(
          assets,
          'This form came from another site',
          'For your safety, changes to your goals are only accepted from this page.',
        ),
      );
    },
    // The forms post urlencoded fields; any other body (JSON, say) is refused, not guessed at.
    preValidation(request: FastifyRequest, reply: FastifyReply, done: () => void) {
      const type = request.headers['content-type'];
      if (request.body === undefined || (type !== undefined && FORM_MEDIA_TYPE.test(type))) {
        return done();
      }
      sendHtml(
        request,
        reply,
        415,
        errorPage(
          assets,
          'That request was not understood',
          'This address takes the fields of its form only. Go back to your goals and try again.',
        ),
      );
    },
  };
}

/** The page for an address with nothing at it (or a form naming something malformed). */
export function sendNotFound(
  request: FastifyRequest,
  reply: FastifyReply,
  assets: Assets,
): FastifyReply {
  return sendHtml(
    request,
    reply,
    404,
    errorPage(assets, 'Page not found', 'There is nothing at this address.'),
  );
}

export const SIGN_IN_PATH = '/signin';

/** Sends a visitor without a working session to sign in, dropping a cookie that no longer works. */
export function toSignIn(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (request.headers.cookie !== undefined) clearSessionCookie(request, reply);
  return reply.redirect(SIGN_IN_PATH, 303);
}

/** A page or form route for signed-in visitors only; the others are sent to sign in. */
export function signedIn(
  handler: (
    request: FastifyRequest,
    reply: FastifyReply,
    caller: Caller,
  ) => Promise<FastifyReply> | FastifyReply,
) {
  return (request: FastifyRequest, reply: FastifyReply) => {
    const token = sessionToken(request);
    if (token === undefined) return toSignIn(request, reply);
    return handler(request, reply, { token, requestId: request.id });
  };
}
