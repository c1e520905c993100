import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The visitor's API session token, kept in a cookie the page's script cannot read. Over HTTPS
 * (the load balancer says so) the name carries the `__Host-` prefix, which browsers only accept
 * with Secure, Path=/ and no Domain: no other site or plain-HTTP page can set or shadow it.
 */
export const SESSION_COOKIE = 'session';
export const SECURE_SESSION_COOKIE = '__Host-session';

/** About 30 days; the API decides how long the session itself lasts. */
export const SESSION_MAX_AGE_SECONDS = 30 * 24 * 60 * 60;

/** The API's tokens are base64url; anything else is not ours and is never sent on. */
const TOKEN = /^[A-Za-z0-9_-]{16,256}$/;

export function isHttps(request: FastifyRequest): boolean {
  return request.headers['x-forwarded-proto'] === 'https';
}

function cookieName(request: FastifyRequest): string {
  return isHttps(request) ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/** The session token the request carries under the name for its scheme, if it looks like one. */
export function sessionToken(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  const name = cookieName(request);
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=');
    if (separator === -1 || pair.slice(0, separator).trim() !== name) continue;
    const value = pair.slice(separator + 1).trim();
    return TOKEN.test(value) ? value : undefined;
  }
  return undefined;
}

function setCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAge: number) {
  const attributes = [
    `${cookieName(request)}=${value}`,
    'Path=/',
    `Max-Age=${maxAge}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (isHttps(request)) attributes.push('Secure');
  // An answer that sets a session must never be stored and replayed to someone else.
  reply.header('set-cookie', attributes.join('; ')).header('cache-control', 'no-store');
}

/** Starts a session: always a token the API has just made, never one the browser brought. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string) {
  if (!TOKEN.test(token)) throw new Error('the API answered with a malformed session token');
  setCookie(request, reply, token, SESSION_MAX_AGE_SECONDS);
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply) {
  setCookie(request, reply, '', 0);
}
