import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';
import { buildApp } from '../src/app.js';
import { json, startFakeApi } from './support/fake-api.js';
import { postForm, SIGNED_IN } from './support/web.js';

// An API that knows no session: a page request with a cookie ends in "sign in again", which
// clears the cookie, so the Set-Cookie shows the scheme the web tier believed.
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((server) => server.close()));
});

const CLOUDFRONT_HOST = 'd111111abcdef8.cloudfront.net';

async function behindCloudFront(forwardedProtoHeader?: string): Promise<FastifyInstance> {
  const api = await startFakeApi((_request, response) =>
    json(response, 401, { type: 'about:blank', title: 'Unauthorized', status: 401 }),
  );
  opened.push(api);
  const app = await buildApp({
    config: {
      apiUrl: api.url,
      apiConnectTimeoutMs: 1_000,
      apiTimeoutMs: 2_000,
      trustedProxies: ['127.0.0.1'],
      allowedHosts: [CLOUDFRONT_HOST],
      ...(forwardedProtoHeader ? { forwardedProtoHeader } : {}),
    },
  });
  await app.ready();
  opened.push(app);
  return app;
}

/** What reaches the web tier through CloudFront and the ALB: the ALB's http, CloudFront's https. */
const THROUGH_CLOUDFRONT = {
  host: CLOUDFRONT_HOST,
  'x-forwarded-proto': 'http',
  'cloudfront-forwarded-proto': 'https',
};

describe('the scheme the visitor used, behind CloudFront and the ALB', () => {
  test('when FORWARDED_PROTO_HEADER is cloudfront-forwarded-proto and CloudFront says https, then HSTS is sent and the session cookie is Secure under __Host-', async () => {
    const app = await behindCloudFront('cloudfront-forwarded-proto');
    const response = await app.inject({
      method: 'GET',
      url: '/',
      headers: { ...THROUGH_CLOUDFRONT, cookie: 'session=x'.padEnd(30, 'x') },
    });
    expect(response.headers['strict-transport-security']).toBe(
      'max-age=31536000; includeSubDomains',
    );
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toMatch(/^__Host-session=;/);
    expect(cookie).toContain('; Secure');
  });

  test('when FORWARDED_PROTO_HEADER is cloudfront-forwarded-proto, then a form post with Origin https://<CloudFront name> passes the cross-site check', async () => {
    const app = await behindCloudFront('cloudfront-forwarded-proto');
    const response = await postForm(
      app,
      '/goals',
      { name: 'Posted' },
      { ...THROUGH_CLOUDFRONT, ...SIGNED_IN, origin: `https://${CLOUDFRONT_HOST}` },
    );
    // Past the Origin check, the API's 401 sends the visitor to sign in again.
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/signin');
  });

  test('when the default X-Forwarded-Proto is used behind CloudFront, then the ALB\'s "http" wins: no HSTS, no Secure (why infra sets the header)', async () => {
    const app = await behindCloudFront();
    const response = await app.inject({
      method: 'GET',
      url: '/health',
      headers: THROUGH_CLOUDFRONT,
    });
    expect(response.headers).not.toHaveProperty('strict-transport-security');
  });

  test('when CloudFront says http (a viewer before the redirect), then neither HSTS nor Secure', async () => {
    const app = await behindCloudFront('cloudfront-forwarded-proto');
    const response = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { ...THROUGH_CLOUDFRONT, 'cloudfront-forwarded-proto': 'http' },
    });
    expect(response.headers).not.toHaveProperty('strict-transport-security');
  });
});
