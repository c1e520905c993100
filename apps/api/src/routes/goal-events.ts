import { GoalEvent } from '@goal-tracker/contract';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { REQUEST_ID_HEADER } from '@goal-tracker/server-kit';
import { Type } from '@sinclair/typebox';
import type { Authenticate } from '../accounts/authenticate.js';
import { AppError } from '../errors.js';
import type { GoalEventStreams } from '../live/goal-event-streams.js';
import { problemResponse, unauthorized } from './schemas.js';

export function goalEventsRoutes(
  streams: GoalEventStreams,
  authenticate: Authenticate,
): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async
  return async (app) => {
    app.addSchema(GoalEvent);

    app.get(
      '/goals/events',
      {
        onRequest: authenticate,
        schema: {
          operationId: 'streamGoalEvents',
          tags: ['goals'],
          security: [{ bearer: [] }],
          summary: "Hear of changes to the account's goals as they happen (Server-Sent Events)",
          description:
            'text/event-stream: one event per change made on any device or instance (created, updated, deleted, restored, moved; the data is a GoalEvent naming the goal), a comment every 20 s so idle connections stay open, and `retry: 1000`. Reconnect with Last-Event-ID to get the events missed meanwhile; when they cannot be told, a `reset` event says to reload the list. Only the signed-in account’s events are sent; signing out ends the stream. At most 10 streams per account in one server process (an instance runs one per vCPU; 429 beyond).',
          response: {
            200: {
              description: 'The stream of events, until the client or the server ends it',
              content: {
                // OpenAPI 3.0 has no schema for a sequence of events: this is each one's data.
                'text/event-stream': { schema: Type.Ref(GoalEvent) },
              },
            },
            401: unauthorized,
            429: problemResponse('The account has as many event streams open as it may'),
          },
        },
      },
      (request, reply) => {
        if (!streams.hasRoom(request.accountId)) {
          throw new AppError(
            429,
            'Too Many Requests',
            'This account has too many event streams open; close a tab or try again later.',
            { retryAfterSeconds: 10 },
          );
        }
        reply.hijack();
        reply.raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          // Proxies that buffer (nginx) would hold events back.
          'x-accel-buffering': 'no',
          [REQUEST_ID_HEADER]: request.id,
        });
        const lastEventId = request.headers['last-event-id'];
        streams.open(
          request.accountId,
          reply.raw,
          typeof lastEventId === 'string' ? lastEventId : undefined,
        );
      },
    );
  };
}
