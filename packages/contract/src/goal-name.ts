/**
 * The goal name rule, with no run-time dependencies: the API's schema, the web tier and the
 * page script (bundled for the browser) all read it from here.
 */

/** Longest goal name; the specification's column is VARCHAR(255). */
export const GOAL_NAME_MAX_LENGTH = 255;

/**
 * A name after trimming: 1 to 255 characters, none of them control characters
 * (C0, DEL or C1), so a name always renders as one line of plain text. Read with the `u`
 * flag (as Ajv and HTML read patterns), the surrogate range matches only a lone surrogate:
 * half a character, which PostgreSQL would store as U+FFFD.
 */
export const GOAL_NAME_PATTERN = '^[^\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff]+$';

const allowedCharacters = new RegExp(GOAL_NAME_PATTERN, 'u');

export type GoalNameProblem = 'empty' | 'too-long' | 'control-characters';

/**
 * Trims a name and says what is wrong with it, if anything. The API validates with the
 * schema; the web tier and the page script call this to explain a refusal before a round trip.
 */
export function checkGoalName(raw: string): { name: string; problem?: GoalNameProblem } {
  const name = raw.trim();
  if (name.length === 0) return { name, problem: 'empty' };
  // Count code points, as PostgreSQL does, not UTF-16 units.
  if ([...name].length > GOAL_NAME_MAX_LENGTH) return { name, problem: 'too-long' };
  if (!allowedCharacters.test(name)) return { name, problem: 'control-characters' };
  return { name };
}
