/**
 * The words the goals page uses for names and counts. The server renders them and the page
 * script (bundled with this module) repeats them after its own changes, so both always agree.
 * No run-time imports beyond the contract's name rule: it is part of the browser bundle.
 */
import { GOAL_NAME_MAX_LENGTH, goalNameLength } from '@goal-tracker/contract/goal-name';

/** How many more characters fit, said once a name is this close to the limit. */
export const NAME_COUNTER_FROM = GOAL_NAME_MAX_LENGTH - 40;

/** The counter under a name field: "12 characters left", "3 characters too many". */
export function nameCounterText(name: string): string {
  const left = GOAL_NAME_MAX_LENGTH - goalNameLength(name);
  const plural = (count: number) => (count === 1 ? 'character' : 'characters');
  return left >= 0
    ? `${formatCount(left)} ${plural(left)} left`
    : `${formatCount(-left)} ${plural(-left)} too many`;
}

// toLocaleString builds a formatter on every call; this one is built once.
const COUNT_FORMAT = new Intl.NumberFormat('en-US');

export function formatCount(count: number): string {
  return COUNT_FORMAT.format(count);
}

export function remainingText(count: number): string {
  if (count === 0) return 'No goals left';
  return `${formatCount(count)} ${count === 1 ? 'goal' : 'goals'} left`;
}

/** The label of the link to the next page: "Show 12 more", or without the count unknown. */
export function moreText(later: number | undefined): string {
  return later === undefined || later === 0 ? 'Show more' : `Show ${formatCount(later)} more`;
}
