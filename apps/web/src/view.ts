import { GOAL_FILTERS, GOAL_ID_MAX, type GoalFilter } from '@goal-tracker/contract';
import { formatCount } from './views/goal-wording.js';

export const FILTERS = GOAL_FILTERS;
export type Filter = GoalFilter;

/** What the list shows: kept in the query string, and carried through every form post. */
export interface View {
  filter: Filter;
  /** Keyset cursor: show goals with ids after this one. */
  after?: number;
  /** How many goals the earlier pages showed, so a page can say how many come after it. */
  shown?: number;
}

export const STATUSES = {
  added: 'Goal added.',
  renamed: 'Goal saved.',
  deleted: 'Goal deleted.',
  restored: 'Goal restored.',
  unrestorable: 'That goal can no longer be restored: deleted goals are kept for 10 minutes.',
  done: 'Goal marked done.',
  undone: 'Goal marked not done.',
  missing: 'That goal no longer exists.',
  movedUp: 'Goal moved up.',
  movedDown: 'Goal moved down.',
  unmoved: 'The list had changed, so that goal was not moved. This is the order now.',
} as const;
export type Status = keyof typeof STATUSES;

export function parseId(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || !/^[1-9][0-9]{0,9}$/.test(raw)) return undefined;
  const id = Number(raw);
  return id <= GOAL_ID_MAX ? id : undefined;
}

/** Reads a view from a query, ignoring anything malformed rather than refusing the page. */
export function parseView(query: Record<string, unknown>): View {
  const filter = FILTERS.find((f) => f === query.filter) ?? 'all';
  const after = parseId(query.after);
  if (after === undefined) return { filter };
  const shown = parseId(query.shown);
  return shown === undefined ? { filter, after } : { filter, after, shown };
}

export function parseStatus(raw: unknown): Status | undefined {
  return typeof raw === 'string' && Object.hasOwn(STATUSES, raw) ? (raw as Status) : undefined;
}

/** `/` or `/?filter=done&after=50`, plus any extra parameters, in a stable order. */
export function viewUrl(
  view: View,
  extra: Record<string, string | number> = {},
  path = '/',
): string {
  // Built by hand: this runs a few times per goal on every page, and URLSearchParams is slow.
  let query = '';
  const add = (key: string, value: string | number) => {
    query += `${query ? '&' : '?'}${key}=${encodeURIComponent(value)}`;
  };
  if (view.filter !== 'all') add('filter', view.filter);
  if (view.after !== undefined) add('after', view.after);
  if (view.shown !== undefined) add('shown', view.shown);
  for (const [key, value] of Object.entries(extra)) add(encodeURIComponent(key), value);
  return path + query;
}

/** Said once, after the first sign-in or sign-up that took over the goals from before. */
export function adoptedText(count: number): string {
  return count === 1
    ? 'The goal made before accounts existed is now yours.'
    : `The ${formatCount(count)} goals made before accounts existed are now yours.`;
}
