/**
 * How the goals page tells dates: target dates ("by 12 Mar"), when a goal was achieved
 * ("done 3 Mar") and whether it is overdue. The server renders them and the page script
 * (bundled with this module) tells them again in the browser's own time zone, so both agree.
 * No run-time imports: it is part of the browser bundle.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const twoDigits = (value: number) => String(value).padStart(2, '0');

/** The calendar day `moment` falls on where this code runs (YYYY-MM-DD). */
export function localDate(moment: Date): string {
  return `${moment.getFullYear()}-${twoDigits(moment.getMonth() + 1)}-${twoDigits(moment.getDate())}`;
}

/** "12 Mar", or "12 Mar 2027" outside the year of `today` (both YYYY-MM-DD). */
export function shortDateText(date: string, today: string): string {
  const [year, month, day] = date.split('-');
  const text = `${Number(day)} ${MONTHS[Number(month) - 1] ?? ''}`;
  return year === today.slice(0, 4) ? text : `${text} ${year}`;
}

/** Not done, and its target day has passed (YYYY-MM-DD strings compare as days do). */
export function isOverdue(goal: { done: boolean; targetDate: string | null }, today: string) {
  return !goal.done && goal.targetDate !== null && goal.targetDate < today;
}

/** Why a typed target date was refused: said by the server's form routes and the script. */
export function dateProblemText(raw: string): string {
  return raw === ''
    ? 'Enter a whole date, or leave the target date empty.'
    : `“${raw}” is not a date. Enter a day that exists as YYYY-MM-DD, such as 2026-03-12, or leave it empty.`;
}
