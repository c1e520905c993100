/**
 * The words the goals page uses for names and counts. The server renders them and the page
 * script (bundled with this module) repeats them after its own changes, so both always agree.
 * No run-time imports beyond the contract's name rule: it is part of the browser bundle.
 */
import type { GoalNameProblem } from '@goal-tracker/contract/goal-name';

export const NAME_PROBLEMS: Record<GoalNameProblem, string> = {
  empty: 'Write a goal first: the name cannot be empty.',
  'too-long': 'That name is too long: keep it to 255 characters or fewer.',
  'control-characters': 'That name contains characters that cannot be shown, such as line breaks.',
};

// toLocaleString builds a formatter on every call; this one is built once.
const COUNT_FORMAT = new Intl.NumberFormat('en-US');

export function formatCount(count: number): string {
  return COUNT_FORMAT.format(count);
}

export function remainingText(count: number): string {
  if (count === 0) return 'No goals left';
  return `${formatCount(count)} ${count === 1 ? 'goal' : 'goals'} left`;
}
