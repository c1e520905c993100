import type { ConnectionLimits } from '@goal-tracker/server-kit';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';

let clientBuilt = false;

/** The page's script is compiled by tsc (incremental, so quick when nothing changed). */
export function ensureClientBuilt(): void {
  if (clientBuilt) return;
  execFileSync(
    join(REPOSITORY_ROOT, 'node_modules', '.bin', 'tsc'),
    ['-b', join(REPOSITORY_ROOT, 'apps', 'web', 'client')],
    { stdio: 'inherit' },
  );
  clientBuilt = true;
}

export async function buildWeb(
  apiUrl: string,
  timeouts: { connect?: number; response?: number } = {},
  trustedProxies: string[] = [],
  connections: Partial<ConnectionLimits> = {},
  allowedHosts?: string[],
): Promise<FastifyInstance> {
  ensureClientBuilt();
  const app = await buildApp({
    config: {
      apiUrl,
      apiConnectTimeoutMs: timeouts.connect ?? 1_000,
      apiTimeoutMs: timeouts.response ?? 2_000,
      trustedProxies,
      ...(allowedHosts ? { allowedHosts } : {}),
    },
    connections,
  });
  await app.ready();
  return app;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** What a browser sends with a form post from the app's own page. */
export const SAME_ORIGIN = {
  host: 'localhost:3000',
  origin: 'http://localhost:3000',
  'sec-fetch-site': 'same-origin',
};

/** Something requests can be injected into: the web tier, or the web tier as one browser. */
export interface Injector {
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
}

/** The web tier as a browser signed in with `cookie` sees it; a request may name its own. */
export function withCookie(app: FastifyInstance, cookie: string): Injector {
  return {
    inject: (options) => app.inject({ ...options, headers: { cookie, ...options.headers } }),
  };
}

/** A plain-form post, as the page's own forms send it unless other headers are given. */
export function postForm(
  app: Injector,
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = SAME_ORIGIN,
) {
  return app.inject({
    method: 'POST',
    url,
    headers: { ...FORM, ...headers },
    payload: new URLSearchParams(fields).toString(),
  });
}

/** A JSON call, as the page's script makes it. */
export function sendJson(
  app: Injector,
  method: 'POST' | 'PATCH',
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method,
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });
}

/** The session cookie a response set, as the browser would send it back (`name=token`). */
export function sessionCookie(response: { headers: Record<string, unknown> }): string {
  const header = response.headers['set-cookie'];
  const value = Array.isArray(header) ? String(header[0]) : String(header);
  const pair = value.split(';')[0] ?? '';
  if (!/^(__Host-)?session=[\w-]+$/.test(pair)) throw new Error(`no session cookie in ${value}`);
  return pair;
}

/**
 * Follows a form post that did not land: it must redirect (so a reload never resends it) and
 * set a flash cookie; the page it leads to, asked for with that cookie, is returned.
 */
export async function followFlash(
  app: Injector,
  posted: LightMyRequestResponse,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  if (posted.statusCode !== 303) throw new Error(`expected a redirect, got ${posted.statusCode}`);
  const header = posted.headers['set-cookie'];
  const flash = (Array.isArray(header) ? header : [String(header)])
    .map((cookie) => cookie.split(';')[0] ?? '')
    .find((pair) => /^(__Host-)?flash=/.test(pair));
  if (!flash) throw new Error(`no flash cookie in ${String(header)}`);
  const cookie = [headers.cookie, flash].filter(Boolean).join('; ');
  return app.inject({
    method: 'GET',
    url: String(posted.headers.location),
    headers: { ...headers, cookie },
  });
}

/** A session token the stand-in APIs accept as well-formed (they do not check it). */
export const TEST_TOKEN = 'test-token-0123456789abcdef';

/** What a signed-in browser sends with every request. */
export const SIGNED_IN = { cookie: `session=${TEST_TOKEN}` };

/** A signed-in browser's form post from the app's own page. */
export const SAME_ORIGIN_SIGNED_IN = { ...SAME_ORIGIN, ...SIGNED_IN };
