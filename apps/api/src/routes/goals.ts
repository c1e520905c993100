import {
  checkGoalName,
  CreateGoalInput,
  Goal,
  GOAL_NAME_PROBLEMS,
  GoalIdParams,
  GoalPage,
  GoalSummary,
  GoalSummaryQuery,
  ListGoalsQuery,
  MoveGoalInput,
  UpdateGoalInput,
} from '@goal-tracker/contract';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { needsSession, type Authenticate } from '../accounts/authenticate.js';
import { AppError } from '../errors.js';
import { rewriteBodyString } from '../http/body-string.js';
import { sendRepresentation } from '../http/conditional.js';
import type { GoalsService } from '../services/goals-service.js';
import {
  IdempotencyKeyHeaders,
  IfMatchHeaders,
  badRequest,
  noBody,
  notFound,
  problemResponse,
  unauthorized,
  unavailable,
} from './schemas.js';

/**
 * Names are trimmed before validation, so "  a  " is "a" and "   " is empty (400). A name of
 * invisible characters only (zero-width spaces, say) passes the schema's pattern, so the
 * contract's name rule refuses it here, in the words the web tier uses.
 */
const trimName = rewriteBodyString('name', (value) => {
  const { name, problem } = checkGoalName(value);
  if (problem === 'invisible') {
    throw new AppError(400, 'Bad Request', GOAL_NAME_PROBLEMS.invisible);
  }
  return name;
});

/** A goal's ETag: its version, which every change moves on. */
const etagOf = (goal: Goal) => `"${goal.version}"`;

/** Answers a goal with its ETag, for If-Match on the next change. */
function withEtag(reply: { header(name: string, value: string): unknown }, goal: Goal): Goal {
  reply.header('etag', etagOf(goal));
  return goal;
}

/**
 * The version an If-Match names: undefined for none or `*` (any current goal), 0 (matching no
 * goal) for anything but one strong tag of a version, as a weak tag never matches If-Match.
 */
export function versionFromIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*"([1-9][0-9]{0,9})"\s*$/.exec(header);
  return match?.[1] ? Number(match[1]) : 0;
}

/**
 * The schema of a route on one goal (`/goals/{id}…`): tagged, behind the session token, the
 * id in the path, and the answers every such route can give besides its own.
 */
function oneGoal<Schema extends { response: object }>(schema: Schema) {
  return needsSession({
    tags: ['goals'],
    params: GoalIdParams,
    ...schema,
    response: { 400: badRequest, 404: notFound, ...schema.response },
  });
}

const tooMany = problemResponse('Too many changes a minute; Retry-After says when to try again');

const notModified = noBody('Not Modified: the ETag in If-None-Match is current');

export function goalsRoutes(
  service: GoalsService,
  authenticate: Authenticate,
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
          summary: "List goals in the account's order, a page at a time",
          description:
            'Newest on top unless moved; filter=all|active|done|overdue (overdue: not done, target date before `today`, the client’s date, UTC by default). Page on with `cursor`. Sends an ETag; with a current one in If-None-Match, 304 and no body.',
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
          summary: 'Count the goals: all, done, active and overdue',
          description:
            'Overdue counts active goals whose target date is before `today` (UTC by default). Sends an ETag; with a current one in If-None-Match, 304 and no body.',
          querystring: GoalSummaryQuery,
          response: {
            400: badRequest,
            401: unauthorized,
            200: GoalSummary,
            304: notModified,
            503: unavailable,
          },
        },
      },
      async (request, reply) =>
        sendRepresentation(
          request,
          reply,
          await service.summaryRepresentation(request.accountId, request.query.today),
        ),
    );

    app.post(
      '/goals',
      {
        preValidation: trimName,
        schema: needsSession({
          operationId: 'createGoal',
          description:
            'New goals belong to the signed-in account. With an Idempotency-Key, a retried create returns the goal the first one made (201, Idempotent-Replayed: true).',
          tags: ['goals'],
          summary: 'Create a goal',
          headers: IdempotencyKeyHeaders,
          body: CreateGoalInput,
          response: {
            201: Goal,
            400: badRequest,
            409: problemResponse('The account holds as many goals as it may'),
            410: problemResponse('The goal this Idempotency-Key created has been deleted'),
            415: problemResponse('The body is not application/json'),
            422: problemResponse('This Idempotency-Key was used for a different request'),
            429: tooMany,
          },
        }),
      },
      async (request, reply) => {
        const { goal, replayed } = await service.create(
          request.accountId,
          request.body,
          request.headers['idempotency-key'],
        );
        reply.code(201).header('location', `/goals/${goal.id}`).header('etag', etagOf(goal));
        if (replayed) reply.header('idempotent-replayed', 'true');
        return goal;
      },
    );

    app.get(
      '/goals/:id',
      {
        schema: oneGoal({
          operationId: 'getGoal',
          description:
            "Another account's goal is 404, like a missing or deleted one. The ETag is the goal's version, for If-Match on PATCH.",
          summary: 'Get a goal',
          response: {
            200: Goal,
          },
        }),
      },
      async (request, reply) =>
        withEtag(reply, await service.get(request.accountId, request.params.id)),
    );

    app.patch(
      '/goals/:id',
      {
        preValidation: trimName,
        schema: oneGoal({
          operationId: 'updateGoal',
          description:
            'Sets the name, done, target date, or several, to the values given, so sending the same change twice is harmless. done: true sets doneAt to now (or to doneAt, given to undo an untick); done: false clears it. With If-Match: "<version>" (the ETag), the change is made only if the goal is still at that version, else 412, so an undo cannot overwrite a newer change; a change already in place is answered 200 either way.',
          summary: 'Rename a goal, tick it, or set its target date',
          headers: IfMatchHeaders,
          body: UpdateGoalInput,
          response: {
            200: Goal,
            412: problemResponse('If-Match names a version the goal has moved on from'),
            429: tooMany,
          },
        }),
      },
      async (request, reply) =>
        withEtag(
          reply,
          await service.update(
            request.accountId,
            request.params.id,
            request.body,
            versionFromIfMatch(request.headers['if-match']),
          ),
        ),
    );

    app.delete(
      '/goals/:id',
      {
        schema: oneGoal({
          operationId: 'deleteGoal',
          description:
            "The goal leaves every list, count and read at once, but POST /goals/{id}/restore brings it back, in its place, for 10 minutes. Another account's goal is 404, like a missing one.",
          summary: 'Delete a goal (restorable for 10 minutes)',
          response: { 204: noBody('Deleted'), 429: tooMany },
        }),
      },
      async (request, reply) => {
        await service.remove(request.accountId, request.params.id);
        return reply.code(204).send();
      },
    );

    app.post(
      '/goals/:id/restore',
      {
        schema: oneGoal({
          operationId: 'restoreGoal',
          description:
            "Undoes a delete made less than 10 minutes ago: the goal comes back as it was, in its place in the list. Restoring a goal that is not deleted returns it unchanged. Another account's goal is 404.",
          summary: 'Restore a deleted goal',
          response: {
            200: Goal,
            410: problemResponse('The goal was deleted too long ago to be restored'),
            429: tooMany,
          },
        }),
      },
      async (request, reply) =>
        withEtag(reply, await service.restore(request.accountId, request.params.id)),
    );

    app.post(
      '/goals/:id/move',
      {
        schema: oneGoal({
          operationId: 'moveGoal',
          description:
            'Places the goal directly above another ({"before": id}) or below it ({"after": id}); {"before": null} puts it at the bottom, {"after": null} at the top. The order is stored, so every device shows it. Neither the goal\'s version nor updatedAt change.',
          summary: 'Move a goal in the list',
          body: MoveGoalInput,
          response: {
            200: Goal,
            409: problemResponse('The goal to place it next to is not in the list, or is itself'),
            429: tooMany,
          },
        }),
      },
      (request) => service.move(request.accountId, request.params.id, request.body),
    );
  };
}
