import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The visitor's API session token, kept in a cookie the page's script cannot read. Over HTTPS
 * (the load balancer says so) the name carries the `__Host-` prefix, which browsers only accept
 * with Secure, Path=/ and no Domain: no other site or plain-HTTP page can set or shadow it.
 */
export const SESSION_COOKIE = 'session';

/** About 30 days; the API decides how long the session itself lasts. */
export const SESSION_MAX_AGE_SECONDS = 30 * 24 * 60 * 60;

/** The API's tokens are base64url; anything else is not ours and is never sent on. */
const TOKEN = /^[A-Za-z0-9_-]{16,256}$/;

export function isHttps(request: FastifyRequest): boolean {
  return request.headers['x-forwarded-proto'] === 'https';
}

/** A cookie's name for the request's scheme: `__Host-`-prefixed over HTTPS. */
function cookieName(request: FastifyRequest, name: string): string {
  return isHttps(request) ? `__Host-${name}` : name;
}

/** The value of one of our cookies, under the name for the request's scheme. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  const wanted = cookieName(request, name);
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=');
    if (separator === -1 || pair.slice(0, separator).trim() !== wanted) continue;
    return pair.slice(separator + 1).trim();
  }
  return undefined;
}

/** Sets (or, with maxAge 0, clears) one of our cookies; never readable by page scripts. */
export function writeCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  cookie: { name: string; value: string; maxAge: number },
): void {
  const attributes = [
    `${cookieName(request, cookie.name)}=${cookie.value}`,
    'Path=/',
    `Max-Age=${cookie.maxAge}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (isHttps(request)) attributes.push('Secure');
  // An answer that sets a cookie must never be stored and replayed to someone else.
  reply.header('set-cookie', attributes.join('; ')).header('cache-control', 'no-store');
}

/** The session token the request carries under the name for its scheme, if it looks like one. */
export function sessionToken(request: FastifyRequest): string | undefined {
  const value = readCookie(request, SESSION_COOKIE);
  return value !== undefined && TOKEN.test(value) ? value : undefined;
}

/** Starts a session: always a token the API has just made, never one the browser brought. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string) {
  if (!TOKEN.test(token)) throw new Error('the API answered with a malformed session token');
  writeCookie(request, reply, {
    name: SESSION_COOKIE,
    value: token,
    maxAge: SESSION_MAX_AGE_SECONDS,
  });
}

/** Set by the page script to the browser's own date (see today.ts). */
export const TODAY_COOKIE = 'today';

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply) {
  writeCookie(request, reply, { name: SESSION_COOKIE, value: '', maxAge: 0 });
  // Nothing the site keeps in the browser outlives the session.
  if (readCookie(request, TODAY_COOKIE) !== undefined) {
    writeCookie(request, reply, { name: TODAY_COOKIE, value: '', maxAge: 0 });
  }
}
