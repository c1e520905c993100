import { Type, type Static } from '@sinclair/typebox';
import { GOAL_NAME_MAX_LENGTH, GOAL_NAME_PATTERN } from './goal-name.js';

export * from './goal-name.js';

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

export const Goal = Type.Object(
  {
    id: GoalId,
    name: Type.String(),
    done: Type.Boolean(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Goal', description: 'A goal of the signed-in account', additionalProperties: false },
);
export type Goal = Static<typeof Goal>;

export const CreateGoalInput = Type.Object(
  { name: GoalName },
  { $id: 'CreateGoalInput', additionalProperties: false },
);
export type CreateGoalInput = Static<typeof CreateGoalInput>;

export const UpdateGoalInput = Type.Object(
  { name: Type.Optional(GoalName), done: Type.Optional(Type.Boolean()) },
  { $id: 'UpdateGoalInput', additionalProperties: false, minProperties: 1 },
);
export type UpdateGoalInput = Static<typeof UpdateGoalInput>;

export const GoalIdParams = Type.Object({ id: GoalId }, { additionalProperties: false });
export type GoalIdParams = Static<typeof GoalIdParams>;

export const ListGoalsQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: GOALS_PAGE_MAX_LIMIT,
        default: GOALS_PAGE_DEFAULT_LIMIT,
      }),
    ),
    after: Type.Optional(Type.Integer({ minimum: 0, maximum: GOAL_ID_MAX })),
    done: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ListGoalsQuery = Static<typeof ListGoalsQuery>;

export const GoalPage = Type.Object(
  {
    goals: Type.Array(Goal),
    next: Type.Union([GoalId, Type.Null()], {
      description: 'Pass as `after` to get the next page; null on the last page',
    }),
  },
  {
    $id: 'GoalPage',
    description: 'A page of goals, and the cursor of the next page',
    additionalProperties: false,
  },
);
export type GoalPage = Static<typeof GoalPage>;

/** GET /goals/summary: how many goals there are, so a page can say "3 goals left". */
export const GoalSummary = Type.Object(
  {
    total: Type.Integer({ minimum: 0 }),
    done: Type.Integer({ minimum: 0 }),
    active: Type.Integer({ minimum: 0 }),
  },
  {
    $id: 'GoalSummary',
    description: 'How many goals the account has: all, done and active',
    additionalProperties: false,
  },
);
export type GoalSummary = Static<typeof GoalSummary>;
