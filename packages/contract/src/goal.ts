import { Type, type Static } from '@sinclair/typebox';
import { GOAL_EVENT_TYPES } from './goal-events.js';
import { GOAL_NAME_MAX_LENGTH, GOAL_NAME_PATTERN } from './goal-name.js';
import { namedObject } from './named-object.js';

export * from './goal-name.js';
export * from './goal-events.js';

export const GOALS_PAGE_DEFAULT_LIMIT = 50;
export const GOALS_PAGE_MAX_LIMIT = 100;
/**
 * Ids are PostgreSQL bigint values served as JSON numbers, so they stop at the largest integer
 * a JSON number holds exactly (2^53 - 1), far beyond what the sequence will reach.
 */
export const GOAL_ID_MAX = Number.MAX_SAFE_INTEGER;

export const GoalName = Type.String({
  minLength: 1,
  maxLength: GOAL_NAME_MAX_LENGTH,
  pattern: GOAL_NAME_PATTERN,
  description: 'Trimmed, 1 to 255 characters, no control characters',
});

export const GoalId = Type.Integer({ minimum: 1, maximum: GOAL_ID_MAX });

/** YYYY-MM-DD; the shape only: `isCalendarDate` says whether the day exists. */
export const CALENDAR_DATE_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';

export const CalendarDate = Type.String({
  pattern: CALENDAR_DATE_PATTERN,
  description: 'A calendar date, YYYY-MM-DD (a day that exists: not 2026-02-30)',
});

/** Whether `text` is YYYY-MM-DD naming a day that exists (2028-02-29 does, 2026-02-30 not). */
export function isCalendarDate(text: string): boolean {
  if (!new RegExp(CALENDAR_DATE_PATTERN).test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/** An RFC 3339 timestamp, as the API writes them (2026-12-01T10:00:00.000Z). */
export const TIMESTAMP_PATTERN =
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$';

export const Goal = namedObject(
  'Goal',
  {
    id: GoalId,
    name: Type.String(),
    done: Type.Boolean(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({
      format: 'date-time',
      description: 'When its name, done or target date last changed',
    }),
    targetDate: Type.Union([Type.String({ format: 'date' }), Type.Null()], {
      description: 'The day it should be done by (YYYY-MM-DD), or null for none',
    }),
    doneAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description:
        'When it was achieved: set when done turns true, null while not done (and for goals done before this field existed)',
    }),
    version: Type.Integer({
      minimum: 1,
      description:
        'Counts the changes made to it; the ETag of GET and PATCH is this number in quotes, for If-Match',
    }),
  },
  { description: 'A goal of the signed-in account' },
);
export type Goal = Static<typeof Goal>;

export const CreateGoalInput = namedObject('CreateGoalInput', {
  name: GoalName,
  targetDate: Type.Optional(Type.Union([CalendarDate, Type.Null()])),
});
export type CreateGoalInput = Static<typeof CreateGoalInput>;

export const UpdateGoalInput = namedObject(
  'UpdateGoalInput',
  {
    name: Type.Optional(GoalName),
    done: Type.Optional(Type.Boolean()),
    targetDate: Type.Optional(
      Type.Union([CalendarDate, Type.Null()], { description: 'A date, or null to clear it' }),
    ),
    doneAt: Type.Optional(
      Type.String({
        pattern: TIMESTAMP_PATTERN,
        description:
          'Only with done: true, to undo an untick: restores when it was achieved instead of now',
      }),
    ),
  },
  { minProperties: 1 },
);
export type UpdateGoalInput = Static<typeof UpdateGoalInput>;

/**
 * Where a goal goes: `before` a goal (directly above it; null: at the bottom), or `after`
 * one (directly below it; null: at the top).
 */
export const MoveGoalInput = Type.Union(
  [
    Type.Object(
      { before: Type.Union([GoalId, Type.Null()]) },
      { additionalProperties: false, title: 'MoveBefore' },
    ),
    Type.Object(
      { after: Type.Union([GoalId, Type.Null()]) },
      { additionalProperties: false, title: 'MoveAfter' },
    ),
  ],
  {
    $id: 'MoveGoalInput',
    description:
      'Either before: id (directly above that goal; null for the bottom) or after: id (directly below it; null for the top)',
  },
);
export type MoveGoalInput = Static<typeof MoveGoalInput>;

export const GoalIdParams = Type.Object({ id: GoalId }, { additionalProperties: false });
export type GoalIdParams = Static<typeof GoalIdParams>;

export const GOAL_FILTERS = ['all', 'active', 'done', 'overdue'] as const;
export type GoalFilter = (typeof GOAL_FILTERS)[number];

/** A page cursor: the position and id of the last goal of a page, opaque to clients. */
export const GOALS_CURSOR_PATTERN = '^-?[0-9]{1,19}\\.[0-9]{1,16}$';

const Today = Type.Optional(
  Type.String({
    pattern: CALENDAR_DATE_PATTERN,
    description:
      "Today in the person's own time zone (YYYY-MM-DD): a goal is overdue when its target date is before it. Default: today in UTC",
  }),
);

export const ListGoalsQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: GOALS_PAGE_MAX_LIMIT,
        default: GOALS_PAGE_DEFAULT_LIMIT,
      }),
    ),
    cursor: Type.Optional(
      Type.String({
        pattern: GOALS_CURSOR_PATTERN,
        description: "The previous page's `cursor`: the page after it, even if goals moved",
      }),
    ),
    after: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: GOAL_ID_MAX,
        description:
          'The id of the last goal of the previous page (its `next`): the goals below it as it is placed now. Prefer `cursor`',
      }),
    ),
    filter: Type.Optional(
      Type.Union(
        GOAL_FILTERS.map((filter) => Type.Literal(filter)),
        {
          description:
            'all (default), active (not done), done, or overdue (not done, target date before today)',
        },
      ),
    ),
    done: Type.Optional(
      Type.Boolean({ description: 'Older form of filter=done or filter=active' }),
    ),
    today: Today,
  },
  { additionalProperties: false },
);
export type ListGoalsQuery = Static<typeof ListGoalsQuery>;

export const GoalSummaryQuery = Type.Object({ today: Today }, { additionalProperties: false });
export type GoalSummaryQuery = Static<typeof GoalSummaryQuery>;

export const GoalPage = namedObject(
  'GoalPage',
  {
    goals: Type.Array(Goal),
    next: Type.Union([GoalId, Type.Null()], {
      description:
        'The id of the last goal, to pass as `after` for the next page; null on the last page',
    }),
    cursor: Type.Union([Type.String(), Type.Null()], {
      description:
        'Pass as `cursor` for the next page; it goes on below this page even when goals move meanwhile. Null on the last page',
    }),
  },
  { description: 'A page of goals, and the cursor of the next page' },
);
export type GoalPage = Static<typeof GoalPage>;

/** GET /goals/summary: how many goals there are, so a page can say "3 goals left". */
export const GoalSummary = namedObject(
  'GoalSummary',
  {
    total: Type.Integer({ minimum: 0 }),
    done: Type.Integer({ minimum: 0 }),
    active: Type.Integer({ minimum: 0 }),
    overdue: Type.Integer({
      minimum: 0,
      description: 'Active goals whose target date is before today',
    }),
  },
  { description: 'How many goals the account has: all, done, active and overdue' },
);
export type GoalSummary = Static<typeof GoalSummary>;

/**
 * The data of a GET /goals/events event. Its SSE event name is the type: one of
 * GOAL_CHANGE_TYPES with the goal's id (GET it, or drop it for `deleted`); `changed` when
 * something changed that cannot be named (reload the list); `reset` when the events missed
 * since Last-Event-ID cannot be replayed (reload the list).
 */
export const GoalEvent = namedObject(
  'GoalEvent',
  {
    type: Type.Union(GOAL_EVENT_TYPES.map((type) => Type.Literal(type))),
    id: Type.Union([GoalId, Type.Null()], { description: 'The goal; null for changed and reset' }),
  },
  { description: 'One change to the signed-in account’s goals, sent as an SSE event' },
);
export type GoalEvent = Static<typeof GoalEvent>;
