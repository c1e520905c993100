import formbody from '@fastify/formbody';
import type { ConnectionLimits } from '@goal-tracker/server-kit';
import { applyConnectionLimits, REQUEST_ID_HEADER, serverOptions } from '@goal-tracker/server-kit';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { registerAccountPages } from './account-pages.js';
import { createAccountsApi } from './accounts-api.js';
import { createApiClient, type ApiClient } from './api-client.js';
import { sendNotFound } from './forms.js';
import { chooseEncoding, loadAssets, type Assets } from './assets.js';
import { DEFAULT_ALLOWED_HOSTS, type WebConfig } from './config.js';
import { createGoalsApi } from './goals-api.js';
import { registerGoalEventsRelay } from './goal-events-relay.js';
import { registerPages } from './pages.js';
import { errorStatus, registerApiProxy, sendErrorProblem, sendProblem } from './proxy.js';
import { sendHtml } from './responses.js';
import {
  adoptForwardedProto,
  applySecurityHeaders,
  isAllowedHost,
  SECURITY_HEADERS,
} from './security.js';
import { errorPage } from './views/layout.js';

export interface BuildAppOptions {
  config: Pick<WebConfig, 'apiUrl' | 'apiConnectTimeoutMs' | 'apiTimeoutMs'> &
    Partial<Pick<WebConfig, 'trustedProxies' | 'allowedHosts' | 'forwardedProtoHeader'>>;
  logger?: FastifyServerOptions['logger'];
  /** Request timeouts and the connection cap; tests shorten them. */
  connections?: Partial<ConnectionLimits>;
  /** Where public/ and dist/client/ live; apps/web by default. */
  assetsRoot?: string;
}

/**
 * Never in a log line: the session token travels in these headers (the pages' own logging
 * leaves headers out; this covers anything that logs a request or a reply whole).
 */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
];

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const assets: Assets = loadAssets(options.assetsRoot);
  const logger = options.logger ?? false;
  const app = Fastify({
    logger:
      typeof logger === 'object' ? { redact: { paths: REDACTED_LOG_PATHS }, ...logger } : logger,
    ...serverOptions(options.connections ?? {}, SECURITY_HEADERS),
    // An address Fastify cannot decode (a bad %-escape) gets this tier's error page, headers
    // and request id, like any other.
    frameworkErrors: (_error, request, reply) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      applySecurityHeaders(request, reply);
      void sendHtml(
        request,
        reply,
        400,
        errorPage(
          assets,
          'That request was not understood',
          'Go back to your goals and try again.',
        ),
      );
    },
    bodyLimit: 16 * 1024,
    // One line per request at info would double the load balancer's own logs; debug has it.
    logController: new LogController({ disableRequestLogging: true }),
    // Only the load balancers' X-Forwarded-For is believed: request.ip is the visitor.
    trustProxy:
      options.config.trustedProxies && options.config.trustedProxies.length > 0
        ? options.config.trustedProxies
        : false,
  });
  applyConnectionLimits(app, options.connections ?? {});
  const client: ApiClient = createApiClient({
    apiUrl: options.config.apiUrl,
    connectTimeoutMs: options.config.apiConnectTimeoutMs,
    timeoutMs: options.config.apiTimeoutMs,
  });
  app.addHook('onClose', () => client.close());

  const allowedHosts = new Set(options.config.allowedHosts ?? DEFAULT_ALLOWED_HOSTS);
  const forwardedProtoHeader = options.config.forwardedProtoHeader ?? 'x-forwarded-proto';
  app.addHook('onRequest', (request, reply, done) => {
    adoptForwardedProto(request, forwardedProtoHeader);
    reply.header(REQUEST_ID_HEADER, request.id);
    applySecurityHeaders(request, reply);
    if (isAllowedHost(request, allowedHosts)) return done();
    request.log.warn({ host: request.headers.host }, 'refused a request for another host');
    if (request.url.startsWith('/api/')) {
      const detail = 'This server does not answer for that host name.';
      sendProblem(reply, {
        type: 'about:blank',
        title: 'Misdirected Request',
        status: 421,
        detail,
      });
      return;
    }
    sendHtml(
      request,
      reply,
      421,
      errorPage(assets, 'Wrong address', 'This server does not answer for that host name.'),
    );
  });
  // A hook runs on every request; this one only where its lines are wanted.
  if (app.log.level === 'debug' || app.log.level === 'trace') {
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug(
        {
          method: request.method,
          url: request.url,
          status: reply.statusCode,
          ms: reply.elapsedTime,
        },
        'request',
      );
    });
  }

  await app.register(formbody, { bodyLimit: 16 * 1024 });

  app.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
    if (request.url.startsWith('/api/')) return sendErrorProblem(error, request, reply);
    const status = errorStatus(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return sendHtml(
      request,
      reply,
      status,
      errorPage(
        assets,
        status >= 500 ? 'Something went wrong' : 'That request was not understood',
        status >= 500
          ? 'The page could not be shown. Try again in a moment.'
          : 'Go back to your goals and try again.',
      ),
    );
  });

  app.setNotFoundHandler(async (request, reply) => {
    if (request.url.startsWith('/api/')) {
      return sendProblem(reply, { type: 'about:blank', title: 'Not found', status: 404 });
    }
    return sendNotFound(request, reply, assets);
  });

  // Liveness only: an API outage must never make the web targets unhealthy.
  app.get('/health', () => ({ status: 'ok' }));

  app.get('/robots.txt', async (_request, reply) =>
    reply.type('text/plain; charset=utf-8').send('User-agent: *\nAllow: /\n'),
  );

  app.get('/assets/:file', async (request, reply) => {
    const asset = assets.byUrl.get(request.url.split('?')[0] ?? '');
    if (!asset) {
      return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
    }
    reply
      .type(asset.type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('etag', asset.etag)
      .header('vary', 'accept-encoding');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    const encoding = chooseEncoding(request.headers['accept-encoding'], asset);
    if (encoding) reply.header('content-encoding', encoding);
    return reply.send((encoding && asset[encoding]) ?? asset.body);
  });

  registerGoalEventsRelay(app, client);
  registerApiProxy(app, client);
  const goalsApi = createGoalsApi(client);
  const accountsApi = createAccountsApi(client);
  registerPages(app, { goalsApi, accountsApi, assets });
  registerAccountPages(app, { goalsApi, accountsApi, assets });
  return app;
}
