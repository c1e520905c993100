/**
 * The names of GET /goals/events' events, apart from their schema (goal.ts) so that the page
 * script can listen for them without bundling TypeBox.
 */

/** What happened to a goal: the event carries its id. */
export const GOAL_CHANGE_TYPES = ['created', 'updated', 'deleted', 'restored', 'moved'] as const;
export type GoalChangeType = (typeof GOAL_CHANGE_TYPES)[number];

/**
 * Every event type: a goal's change, `changed` when something changed that cannot be named,
 * and `reset` when the events missed since Last-Event-ID cannot be replayed. After either of
 * the last two, reload the list.
 */
export const GOAL_EVENT_TYPES = [...GOAL_CHANGE_TYPES, 'changed', 'reset'] as const;
export type GoalEventType = (typeof GOAL_EVENT_TYPES)[number];
