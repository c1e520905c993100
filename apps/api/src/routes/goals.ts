import {
  CreateGoalInput,
  Goal,
  GoalIdParams,
  GoalPage,
  GoalSummary,
  ListGoalsQuery,
  UpdateGoalInput,
} from '@goal-tracker/contract';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { sendRepresentation } from '../http/conditional.js';
import type { GoalsService } from '../services/goals-service.js';
import {
  IdempotencyKeyHeaders,
  badRequest,
  notFound,
  problemResponse,
  unavailable,
} from './schemas.js';

/** Names are trimmed before validation, so "  a  " is "a" and "   " is empty (400). */
function trimName(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
  const body = request.body as { name?: unknown } | null | undefined;
  if (typeof body === 'object' && body !== null && typeof body.name === 'string') {
    body.name = body.name.trim();
  }
  done();
}

const unauthorized = problemResponse(
  'No valid session token: sign in (POST /sessions) and send Authorization: Bearer <token>',
);
const tooMany = problemResponse('Too many changes a minute; Retry-After says when to try again');

const notModified = {
  type: 'null',
  description: 'Not Modified: the ETag in If-None-Match is current',
} as const;

export function goalsRoutes(
  service: GoalsService,
  authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>,
): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async
  return async (app) => {
    // Every goal belongs to an account: no route here answers without a session token.
    app.addHook('onRequest', authenticate);

    app.get(
      '/goals',
      {
        schema: {
          operationId: 'listGoals',
          tags: ['goals'],
          security: [{ bearer: [] }],
          summary: 'List goals in id order, a page at a time',
          description: 'Sends an ETag; with a current one in If-None-Match, 304 and no body.',
          querystring: ListGoalsQuery,
          response: {
            401: unauthorized,
            200: GoalPage,
            304: notModified,
            400: badRequest,
            503: unavailable,
          },
        },
      },
      async (request, reply) =>
        sendRepresentation(
          request,
          reply,
          await service.listRepresentation(request.accountId, request.query),
        ),
    );

    // A static route: find-my-way matches it before /goals/:id, whatever the order.
    app.get(
      '/goals/summary',
      {
        schema: {
          operationId: 'getGoalSummary',
          tags: ['goals'],
          security: [{ bearer: [] }],
          summary: 'Count the goals: all, done and active',
          description: 'Sends an ETag; with a current one in If-None-Match, 304 and no body.',
          response: {
            401: unauthorized,
            200: GoalSummary,
            304: notModified,
            503: unavailable,
          },
        },
      },
      async (request, reply) =>
        sendRepresentation(request, reply, await service.summaryRepresentation(request.accountId)),
    );

    app.post(
      '/goals',
      {
        preValidation: trimName,
        schema: {
          operationId: 'createGoal',
          description:
            'New goals belong to the signed-in account. With an Idempotency-Key, a retried create returns the goal the first one made (201, Idempotent-Replayed: true).',
          tags: ['goals'],
          security: [{ bearer: [] }],
          summary: 'Create a goal',
          headers: IdempotencyKeyHeaders,
          body: CreateGoalInput,
          response: {
            401: unauthorized,
            201: Goal,
            400: badRequest,
            409: problemResponse('The account holds as many goals as it may'),
            410: problemResponse('The goal this Idempotency-Key created has been deleted'),
            415: problemResponse('The body is not application/json'),
            422: problemResponse('This Idempotency-Key was used for a different request'),
            429: tooMany,
            503: unavailable,
          },
        },
      },
      async (request, reply) => {
        const { goal, replayed } = await service.create(
          request.accountId,
          request.body.name,
          request.headers['idempotency-key'],
        );
        reply.code(201).header('location', `/goals/${goal.id}`);
        if (replayed) reply.header('idempotent-replayed', 'true');
        return goal;
      },
    );

    app.get(
      '/goals/:id',
      {
        schema: {
          operationId: 'getGoal',
          description: "Another account's goal is 404, like a missing one.",
          tags: ['goals'],
          security: [{ bearer: [] }],
          summary: 'Get a goal',
          params: GoalIdParams,
          response: {
            401: unauthorized,
            200: Goal,
            400: badRequest,
            404: notFound,
            503: unavailable,
          },
        },
      },
      (request) => service.get(request.accountId, request.params.id),
    );

    app.patch(
      '/goals/:id',
      {
        preValidation: trimName,
        schema: {
          operationId: 'updateGoal',
          description:
            'Sets the name, done, or both, to the values given, so sending the same change twice is harmless.',
          tags: ['goals'],
          security: [{ bearer: [] }],
          summary: 'Rename a goal or mark it done',
          params: GoalIdParams,
          body: UpdateGoalInput,
          response: {
            401: unauthorized,
            200: Goal,
            400: badRequest,
            404: notFound,
            429: tooMany,
            503: unavailable,
          },
        },
      },
      (request) => service.update(request.accountId, request.params.id, request.body),
    );

    app.delete(
      '/goals/:id',
      {
        schema: {
          operationId: 'deleteGoal',
          description: "Another account's goal is 404, like a missing one.",
          tags: ['goals'],
          security: [{ bearer: [] }],
          summary: 'Delete a goal',
          params: GoalIdParams,
          response: {
            401: unauthorized,
            204: { type: 'null', description: 'Deleted' },
            400: badRequest,
            404: notFound,
            429: tooMany,
            503: unavailable,
          },
        },
      },
      async (request, reply) => {
        await service.remove(request.accountId, request.params.id);
        return reply.code(204).send();
      },
    );
  };
}
