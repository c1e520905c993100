import type { FastifyRequest } from 'fastify';
import { isCalendarDate } from '@goal-tracker/contract';
import { readCookie, TODAY_COOKIE } from './session.js';
import { localDate } from './views/goal-dates.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Today for this request, which decides what is overdue: the browser's date when its script
 * has told us (the person's time zone), else the server's own. Time zones are at most a day
 * from UTC, so a date further off is a stale or forged cookie and is ignored.
 */
export function requestToday(request: FastifyRequest, now = new Date()): string {
  const serverToday = localDate(now);
  const told = readCookie(request, TODAY_COOKIE);
  if (told === undefined || !isCalendarDate(told)) return serverToday;
  const offset = Math.abs(Date.parse(`${told}T12:00:00Z`) - now.getTime());
  return offset <= DAY_MS + 12 * 60 * 60 * 1000 ? told : serverToday;
}
