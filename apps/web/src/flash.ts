import type { FastifyReply, FastifyRequest } from 'fastify';
import { readCookie, writeCookie } from './session.js';
import type { DateFieldState } from './views/fields.js';
import type { GoalsPageModel } from './views/goals-page.js';

/**
 * What a refused or failed form post shows on the page it redirects to: the typed text, the
 * reason, and the add form's idempotency key. Carried in a cookie for one request, so every
 * post ends in a redirect (a reload never asks to send the form again) and the person's words
 * never enter a URL, where history and logs would keep them.
 */
export interface Flash {
  add?: GoalsPageModel['add'];
  edit?: NonNullable<GoalsPageModel['edit']>;
  error?: string;
}

const FLASH_COOKIE = 'flash';
/** Long enough for the redirect to be followed; a flash is read once and cleared. */
const FLASH_MAX_AGE_SECONDS = 60;

export function setFlash(request: FastifyRequest, reply: FastifyReply, flash: Flash): void {
  const value = Buffer.from(JSON.stringify(flash)).toString('base64url');
  writeCookie(request, reply, { name: FLASH_COOKIE, value, maxAge: FLASH_MAX_AGE_SECONDS });
}

/** The flash the request carries, if any (cleared in the reply); anything malformed is dropped. */
export function takeFlash(request: FastifyRequest, reply: FastifyReply): Flash | undefined {
  const value = readCookie(request, FLASH_COOKIE);
  if (value === undefined) return undefined;
  writeCookie(request, reply, { name: FLASH_COOKIE, value: '', maxAge: 0 });
  try {
    return parseFlash(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
  } catch {
    return undefined;
  }
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

function dateState(form: Record<string, unknown> | undefined): DateFieldState {
  const state: DateFieldState = {};
  const date = text(form?.date);
  const dateError = text(form?.dateError);
  if (date !== undefined) state.date = date;
  if (dateError !== undefined) state.dateError = dateError;
  return state;
}

function parseFlash(raw: unknown): Flash {
  const { add, edit, error } = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<
    string,
    Record<string, unknown> | undefined
  >;
  const flash: Flash = {};
  const addValue = text(add?.value);
  const key = text(add?.idempotencyKey);
  if (addValue !== undefined && key !== undefined) {
    flash.add = { value: addValue, idempotencyKey: key };
    const addError = text(add?.error);
    const keyFor = text(add?.idempotencyKeyFor);
    Object.assign(flash.add, dateState(add));
    if (addError !== undefined) flash.add.error = addError;
    if (keyFor !== undefined) flash.add.idempotencyKeyFor = keyFor;
  }
  const editValue = text(edit?.value);
  const id = edit?.id;
  if (editValue !== undefined && typeof id === 'number' && Number.isSafeInteger(id)) {
    flash.edit = { id, value: editValue };
    const editError = text(edit?.error);
    Object.assign(flash.edit, dateState(edit));
    if (editError !== undefined) flash.edit.error = editError;
  }
  const pageError = text(error);
  if (pageError !== undefined) flash.error = pageError;
  return flash;
}
