import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * No inline script or style anywhere, so the policy needs no 'unsafe-inline', no nonces and no
 * hashes: everything the page runs or styles with comes from /assets on this origin.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  // Not no-referrer: under it browsers send `Origin: null` with same-origin form posts, which
  // would make the cross-site check refuse the page's own forms in browsers without
  // Sec-Fetch-Site.
  'referrer-policy': 'same-origin',
  // For browsers that predate frame-ancestors.
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

/**
 * Behind CloudFront the ALB overwrites X-Forwarded-Proto with "http" (its own leg), and the
 * visitor's scheme comes in `header` instead (CloudFront-Forwarded-Proto). Copied over
 * X-Forwarded-Proto before anything reads it, so the Secure cookie, HSTS and the Origin check
 * (request.protocol) all see the scheme the visitor used. Only the configured proxy chain can
 * set it: the ALB forwards nothing that lacks CloudFront's origin secret.
 */
export function adoptForwardedProto(request: FastifyRequest, header: string): void {
  const value = request.headers[header];
  if (header !== 'x-forwarded-proto' && typeof value === 'string') {
    request.headers['x-forwarded-proto'] = value;
  }
}

export function applySecurityHeaders(request: FastifyRequest, reply: FastifyReply): void {
  reply.headers(SECURITY_HEADERS);
  // Behind the load balancer's HTTPS listener; never on plain local HTTP.
  if (request.headers['x-forwarded-proto'] === 'https') {
    reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
  }
}

/** A Host header: a name or address, then perhaps a port; nothing else. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i;

/** The host name a Host header names, lower case and without its port; undefined if malformed. */
function hostName(header: string | undefined): string | undefined {
  const match = HOST_HEADER.exec(header ?? '');
  return match?.[1]?.toLowerCase();
}

/**
 * The load balancers' health checks (`GET /health`; `GET /` by address is let through too)
 * name the target's private address as Host, which ALLOWED_HOSTS cannot list. An address is
 * no DNS name, so it cannot be a rebinding: the checks are let through by any address.
 */
function isHealthCheck(request: FastifyRequest, host: string): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?')[0];
  return (path === '/' || path === '/health') && isIP(host.replace(/^\[|\]$/g, '')) !== 0;
}

/**
 * Whether the request names a Host this site answers to (ALLOWED_HOSTS, any port). A page
 * on another name whose DNS was rebound to this server is same-origin to the browser, so
 * Sec-Fetch-Site and Origin would let it post; only the Host it names gives it away.
 */
export function isAllowedHost(request: FastifyRequest, allowed: ReadonlySet<string>): boolean {
  const host = hostName(request.headers.host);
  if (host === undefined) return false;
  return allowed.has(host) || isHealthCheck(request, host);
}

/**
 * This request's own origin: the scheme it arrived by (X-Forwarded-Proto only from
 * TRUSTED_PROXIES; request.protocol sees to that) and the Host it names.
 */
function ownOrigin(request: FastifyRequest): string | undefined {
  try {
    return new URL(`${request.protocol}://${request.headers.host ?? ''}`).origin;
  } catch {
    return undefined;
  }
}

/**
 * Whether a state-changing request was sent by another site (a forged form post or fetch).
 * Sec-Fetch-Site is set by the browser itself and cannot be forged by a page, so when present
 * it decides; older browsers send only Origin, compared with this request's own origin,
 * scheme and port included. A request with neither comes from a non-browser client, which
 * another site cannot drive, so it is allowed.
 */
export function isCrossSite(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  if (origin === 'null') return true;
  try {
    return new URL(origin).origin !== ownOrigin(request);
  } catch {
    return true;
  }
}

/**
 * X-Forwarded-For for a call to the API made on a visitor's behalf: the visitor's address,
 * as this tier sees it (`request.ip`: the nearest address outside TRUSTED_PROXIES, so a
 * visitor cannot choose it by sending the header itself). The API's per-address limits on
 * sign-ins and sign-ups would otherwise count every visitor as this tier.
 */
export function forwardedFor(request: FastifyRequest): string {
  return request.ip;
}
