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

export type GoalNameProblem = 'empty' | 'too-long' | 'control-characters' | 'invisible';

/**
 * What renders as nothing: white space and separators, control and format characters (such
 * as U+200B to U+200F, U+2060, U+FEFF), other default-ignorable code points (U+3164, the
 * variation selectors), combining marks with no base to sit on, and the blank braille pattern.
 */
const INVISIBLE = /[\s\p{Cc}\p{Cf}\p{Z}\p{M}\p{Default_Ignorable_Code_Point}\u2800]/gu;

/** Characters as the rule counts them: code points, as PostgreSQL does, not UTF-16 units. */
export function goalNameLength(name: string): number {
  return [...name].length;
}

/**
 * Trims a name and says what is wrong with it, if anything. Every tier calls it: the page
 * script and the web tier to explain a refusal before a round trip, the API to refuse what its
 * schema lets through (a name of invisible characters only).
 */
export function checkGoalName(raw: string): { name: string; problem?: GoalNameProblem } {
  const name = raw.trim();
  if (name.length === 0) return { name, problem: 'empty' };
  if (goalNameLength(name) > GOAL_NAME_MAX_LENGTH) return { name, problem: 'too-long' };
  if (!allowedCharacters.test(name)) return { name, problem: 'control-characters' };
  if (name.replace(INVISIBLE, '') === '') return { name, problem: 'invisible' };
  return { name };
}

/** What each problem tells the person who typed the name; every tier says the same. */
export const GOAL_NAME_PROBLEMS: Record<GoalNameProblem, string> = {
  empty: 'Write a goal first: the name cannot be empty.',
  'too-long': `That name is too long: keep it to ${GOAL_NAME_MAX_LENGTH} characters or fewer.`,
  'control-characters': 'That name contains characters that cannot be shown, such as line breaks.',
  invisible:
    'That name has no visible character: it holds only spaces or invisible characters, such as zero-width spaces.',
};

/** The problem's message for this name: a name too long is told by how much. */
export function goalNameProblemText(problem: GoalNameProblem, name: string): string {
  if (problem !== 'too-long') return GOAL_NAME_PROBLEMS[problem];
  const over = goalNameLength(name) - GOAL_NAME_MAX_LENGTH;
  const characters = over === 1 ? 'character' : 'characters';
  return `That name is ${over.toLocaleString('en-US')} ${characters} too long: keep it to ${GOAL_NAME_MAX_LENGTH} or fewer.`;
}
