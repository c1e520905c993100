import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { ApiError, type ApiClient } from './api-client.js';
import { API_FAILURES, apiRequestHeaders, sendProblem } from './proxy.js';

/** The headers of a refusal (401, 429) passed on with it. */
const REFUSAL_HEADERS = ['content-type', 'retry-after', 'www-authenticate'];
/** A refusal is one small problem document; more is a fault, and is cut. */
const MAX_REFUSAL_BYTES = 16 * 1024;

/**
 * GET /api/goals/events: the API's change stream (Server-Sent Events), passed on to the page
 * as it arrives. The general proxy reads each answer whole and compresses it, which would
 * hold a stream back forever. Each open stream holds one connection to the API; on shutdown
 * every one is cut, and the browser reconnects (to another instance) with Last-Event-ID.
 */
export function registerGoalEventsRelay(app: FastifyInstance, client: ApiClient): void {
  const open = new Set<AbortController>();
  app.addHook('preClose', (done) => {
    for (const stream of open) stream.abort();
    done();
  });

  app.get('/api/goals/events', async (request, reply) => {
    const headers = {
      ...apiRequestHeaders(request, ['last-event-id']),
      accept: 'text/event-stream',
    };

    const ended = new AbortController();
    // The browser went away (tab closed, page left): the API's stream goes too.
    reply.raw.once('close', () => ended.abort());
    let upstream;
    try {
      upstream = await client.openStream(
        { path: '/goals/events', headers, requestId: request.id },
        ended.signal,
      );
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      request.log.warn({ err: error }, 'the API event stream could not be opened');
      if (error.kind === 'unavailable') reply.header('retry-after', '5');
      return sendProblem(reply, API_FAILURES[error.kind]);
    }

    if (upstream.status !== 200) {
      let body = Buffer.alloc(0);
      for await (const chunk of upstream.body) {
        body = Buffer.concat([body, chunk as Buffer]);
        if (body.length > MAX_REFUSAL_BYTES) break;
      }
      upstream.body.destroy();
      reply.code(upstream.status);
      for (const name of REFUSAL_HEADERS) {
        const value = upstream.headers[name];
        if (value !== undefined) reply.header(name, value);
      }
      return reply.send(body.subarray(0, MAX_REFUSAL_BYTES));
    }

    // From here the answer is written as it comes, past Fastify's reply (and its compression).
    reply.hijack();
    // The headers set so far (security headers, the request id) are Fastify's to send.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value);
    }
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    open.add(ended);
    try {
      await pipeline(upstream.body, reply.raw, { signal: ended.signal });
    } catch (error) {
      // Ended by the browser, by shutdown, or by an API instance that went away: the browser
      // reconnects either way, so only the unexpected is worth a line.
      if (!ended.signal.aborted) {
        request.log.info({ err: error }, 'the API event stream ended early');
      }
    } finally {
      open.delete(ended);
      upstream.body.destroy();
      if (!reply.raw.writableEnded) reply.raw.destroy();
    }
  });
}
