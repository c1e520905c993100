import { randomUUID } from 'node:crypto';
import { checkGoalName, goalNameProblemText, isCalendarDate } from '@goal-tracker/contract';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountsApi } from './accounts-api.js';
import { setFlash, takeFlash, type Flash } from './flash.js';
import { ApiError } from './api-client.js';
import { isRefusal, isSignedOut, settle, type Caller, type Refusal } from './api-result.js';
import type { Assets } from './assets.js';
import { field, sameSiteOnly, sendNotFound, signedIn, toSignIn, type FormBody } from './forms.js';
import type { GoalsApi } from './goals-api.js';
import { sendHtml } from './responses.js';
import { requestToday } from './today.js';
import {
  adoptedText,
  parseId,
  parseStatus,
  parseView,
  STATUSES,
  viewUrl,
  type Status,
  type View,
} from './view.js';
import { dateProblemText } from './views/goal-dates.js';
import { goalsPage, type GoalsPageModel, type ListState } from './views/goals-page.js';

export interface PagesOptions {
  goalsApi: GoalsApi;
  accountsApi: AccountsApi;
  assets: Assets;
}

type Query = Record<string, unknown>;

function failureMessage(error: ApiError, action: string): string {
  return error.kind === 'timeout'
    ? `The goal service did not answer in time, so ${action} may not be saved. Try again in a moment.`
    : `Goals are unavailable right now, so ${action} was not saved. Try again in a moment.`;
}

function refusalMessage(refusal: Refusal): string {
  return refusal.problem.detail ?? refusal.problem.title;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9-]{8,100}$/;

/**
 * What a create's key was sent with: the target date (fixed length, or none) and the name, so
 * that a key is reused only for the same body.
 */
function keySentFor(name: string, date: string | null | undefined): string {
  return `${date ?? ''}|${name}`;
}

/**
 * The form's key, unless it was already sent with another body (the form came back after a
 * create whose outcome is unknown, and the person edited the name or the date): the API
 * refuses a key reused for a different body, so an edited form gets a fresh one.
 */
function idempotencyKey(body: FormBody, sending: string): string {
  const key = field(body, 'idempotencyKey');
  const sentFor = field(body, 'idempotencyKeyFor');
  const reusable = IDEMPOTENCY_KEY.test(key) && (sentFor === '' || sentFor === sending);
  return reusable ? key : randomUUID();
}

/**
 * The form's target date: null when left empty, undefined when the form has no such field (a
 * page from before dates), or the reason it is not a date.
 */
function targetDateOf(body: FormBody): { date: string | null | undefined; problem?: string } {
  if (body?.targetDate === undefined) return { date: undefined };
  const raw = field(body, 'targetDate').trim();
  if (raw === '') return { date: null };
  return isCalendarDate(raw) ? { date: raw } : { date: undefined, problem: dateProblemText(raw) };
}

/** What the goals page shows besides the form: the list, its count and who is signed in. */
interface PageData {
  list: ListState;
  email: string | undefined;
}

/**
 * The goals in view, the count of those left and the account, asked for together, so knowing
 * who is signed in costs the page no extra wait. Undefined when the session has ended.
 */
async function loadPage(
  { goalsApi, accountsApi }: PagesOptions,
  view: View,
  today: string,
  caller: Caller,
  log: FastifyBaseLogger,
): Promise<PageData | undefined> {
  const [page, summary, account] = await Promise.all([
    settle(
      goalsApi.listGoals(
        {
          limit: 50,
          filter: view.filter,
          today,
          ...(view.after === undefined ? {} : { after: view.after }),
        },
        caller,
      ),
    ),
    // Only the Overdue filter counts by the day ("Show 3 more" overdue goals).
    settle(goalsApi.summary(caller, view.filter === 'overdue' ? today : undefined)),
    settle(accountsApi.signedInEmail(caller)),
  ]);
  if ([page, summary, account].some(isSignedOut)) return undefined;
  // Without the account the header just says "Signed in"; the goals matter more.
  let email: string | undefined;
  if (account instanceof ApiError || !account.ok) {
    log.debug({ failure: account }, 'the account is unavailable');
  } else {
    email = account.value;
  }
  if (page instanceof ApiError) {
    log.warn({ err: page }, 'goals are unavailable');
    return { list: { state: 'unavailable' }, email };
  }
  if (!page.ok) {
    log.error({ refusal: page }, 'the API refused to list goals');
    return { list: { state: 'unavailable' }, email };
  }
  // The list is what matters; without the count the page simply leaves it out. Debug only:
  // an API without /goals/summary yet (during a rolling update) would say so on every page.
  if (summary instanceof ApiError || !summary.ok) {
    log.debug({ failure: summary }, 'the goal count is unavailable');
    return { list: { state: 'ok', page: page.value, summary: undefined }, email };
  }
  return { list: { state: 'ok', page: page.value, summary: summary.value }, email };
}

function seeOther(reply: FastifyReply, view: View, status: Status, goalId?: number): FastifyReply {
  const fragment = goalId === undefined ? '' : `#goal-${goalId}`;
  return reply.redirect(viewUrl(view, { status }) + fragment, 303);
}

/** Back to the page after an action that did not land, showing why once (see flash.ts). */
function redirectWithFlash(
  request: FastifyRequest,
  reply: FastifyReply,
  view: View,
  flash: Flash,
): FastifyReply {
  setFlash(request, reply, flash);
  const target = flash.edit ? viewUrl(view, { edit: flash.edit.id }) : viewUrl(view);
  return reply.redirect(target, 303);
}

/** The list page and the plain-form actions that work without JavaScript. */
export function registerPages(app: FastifyInstance, options: PagesOptions): void {
  const { goalsApi, assets } = options;

  /**
   * After a refused or failed action: back to the page (the rename form open again for a
   * rename), with the typed text and the reason carried in a flash; a session that has ended
   * means signing in again.
   */
  function redirectWithFailure(
    request: FastifyRequest,
    reply: FastifyReply,
    view: View,
    failure: ApiError | Refusal,
    action: string,
    parts: Pick<Flash, 'add' | 'edit'>,
    onField: 'add' | 'edit' | 'page',
  ): FastifyReply {
    if (isSignedOut(failure)) return toSignIn(request, reply);
    const outage = failure instanceof ApiError;
    const message = outage ? failureMessage(failure, action) : refusalMessage(failure);
    if (outage) request.log.warn({ err: failure }, `could not save ${action}`);
    const flash: Flash = { ...parts };
    if (onField === 'add' && parts.add) flash.add = { ...parts.add, error: message };
    else if (onField === 'edit' && parts.edit) flash.edit = { ...parts.edit, error: message };
    else flash.error = message;
    return redirectWithFlash(request, reply, view, flash);
  }

  const formRoute = sameSiteOnly(assets);

  app.get(
    '/',
    signedIn(async (request, reply, caller) => {
      const query = request.query as Query;
      const view = parseView(query);
      const editId = parseId(query.edit);
      const status = parseStatus(query.status);
      const adopted = parseId(query.adopted);
      const flash = takeFlash(request, reply);
      const today = requestToday(request);
      const data = await loadPage(options, view, today, caller, request.log);
      if (!data) return toSignIn(request, reply);
      const { list } = data;
      const editing =
        editId === undefined || list.state !== 'ok'
          ? undefined
          : list.page.goals.find((goal) => goal.id === editId);
      // A rename sent back keeps what was typed, in the list or (during an outage) above it.
      const edit =
        flash?.edit && flash.edit.id === editId
          ? flash.edit
          : editing && { id: editing.id, value: editing.name, date: editing.targetDate ?? '' };
      const notice = status ? STATUSES[status] : adopted && adoptedText(adopted);
      const deleted = status === 'deleted' ? parseId(query.deleted) : undefined;
      const model: GoalsPageModel = {
        view,
        list,
        today,
        email: data.email,
        assets,
        add: flash?.add ?? { value: '', idempotencyKey: randomUUID() },
        ...(edit ? { edit } : {}),
        ...(flash?.error ? { error: flash.error } : {}),
        ...(notice ? { notice } : {}),
        ...(deleted === undefined ? {} : { undoDelete: deleted }),
      };
      return sendHtml(request, reply, 200, goalsPage(model));
    }),
  );

  app.post(
    '/goals',
    formRoute,
    signedIn(async (request, reply, caller) => {
      const view = parseView(request.query as Query);
      const body = request.body as FormBody;
      const raw = field(body, 'name');
      const checked = checkGoalName(raw);
      const rawDate = field(body, 'targetDate');
      const target = targetDateOf(body);
      const sending = keySentFor(checked.name, target.date);
      const key = idempotencyKey(body, sending);
      if (checked.problem || target.problem) {
        const add: Flash['add'] = { value: raw, date: rawDate, idempotencyKey: key };
        if (checked.problem) add.error = goalNameProblemText(checked.problem, checked.name);
        if (target.problem) add.dateError = target.problem;
        return redirectWithFlash(request, reply, view, { add });
      }
      const input = target.date
        ? { name: checked.name, targetDate: target.date }
        : { name: checked.name };
      const result = await settle(goalsApi.createGoal(input, key, caller));
      if (result instanceof ApiError || !result.ok) {
        const add = {
          value: raw,
          date: rawDate,
          idempotencyKey: key,
          idempotencyKeyFor: sending,
        };
        return redirectWithFailure(request, reply, view, result, 'your goal', { add }, 'add');
      }
      return seeOther(reply, view, 'added');
    }),
  );

  /** What a form action on one goal has to work with; a path without a valid id is a 404. */
  interface GoalForm {
    request: FastifyRequest;
    reply: FastifyReply;
    caller: Caller;
    view: View;
    id: number;
    body: FormBody;
  }

  /** POST /goals/:id/<action>: a plain form acting on one goal, same-site and signed in. */
  function goalFormRoute(action: string, handle: (form: GoalForm) => Promise<FastifyReply>) {
    app.post(
      `/goals/:id/${action}`,
      formRoute,
      signedIn(async (request, reply, caller) => {
        const id = parseId((request.params as { id: string }).id);
        if (id === undefined) return sendNotFound(request, reply, assets);
        const view = parseView(request.query as Query);
        return handle({ request, reply, caller, view, id, body: request.body as FormBody });
      }),
    );
  }

  goalFormRoute('toggle', async ({ request, reply, caller, view, id, body }) => {
    const done = field(body, 'done');
    if (done !== 'true' && done !== 'false') return sendNotFound(request, reply, assets);
    const result = await settle(goalsApi.updateGoal(id, { done: done === 'true' }, caller));
    if (isRefusal(result, 404)) {
      return seeOther(reply, view, 'missing');
    }
    if (result instanceof ApiError || !result.ok) {
      return redirectWithFailure(request, reply, view, result, 'the change', {}, 'page');
    }
    const stillShown = view.filter === 'all';
    return seeOther(
      reply,
      view,
      result.value.done ? 'done' : 'undone',
      stillShown ? id : undefined,
    );
  });

  goalFormRoute('rename', async ({ request, reply, caller, view, id, body }) => {
    const raw = field(body, 'name');
    const rawDate = field(body, 'targetDate');
    const checked = checkGoalName(raw);
    const target = targetDateOf(body);
    if (checked.problem || target.problem) {
      const edit: Flash['edit'] = { id, value: raw, date: rawDate };
      if (checked.problem) edit.error = goalNameProblemText(checked.problem, checked.name);
      if (target.problem) edit.dateError = target.problem;
      return redirectWithFlash(request, reply, view, { edit });
    }
    const changes =
      target.date === undefined
        ? { name: checked.name }
        : { name: checked.name, targetDate: target.date };
    const result = await settle(goalsApi.updateGoal(id, changes, caller));
    if (isRefusal(result, 404)) {
      return seeOther(reply, view, 'missing');
    }
    if (result instanceof ApiError || !result.ok) {
      const edit = { edit: { id, value: raw, date: rawDate } };
      return redirectWithFailure(request, reply, view, result, 'the new name', edit, 'edit');
    }
    return seeOther(reply, view, 'renamed', id);
  });

  goalFormRoute('move', async ({ request, reply, caller, view, id, body }) => {
    const direction = field(body, 'direction');
    const today = requestToday(request);
    if (direction !== 'up' && direction !== 'down') return sendNotFound(request, reply, assets);
    // The goal it passes, as the page showed it: moving past that one, not whatever is next
    // by now, is what the person asked for (a list changed meanwhile refuses it with 409).
    const rawNeighbour = field(body, direction === 'up' ? 'above' : 'below');
    let neighbour = parseId(rawNeighbour);
    if (rawNeighbour !== '' && neighbour === undefined) {
      return sendNotFound(request, reply, assets);
    }
    // The last goal of a page does not know the first of the next: ask for it.
    if (neighbour === undefined && direction === 'down') {
      const below = await settle(
        goalsApi.listGoals({ after: id, limit: 1, filter: view.filter, today }, caller),
      );
      if (below instanceof ApiError || !below.ok) {
        if (isRefusal(below, 400)) return seeOther(reply, view, 'missing');
        return redirectWithFailure(request, reply, view, below, 'the move', {}, 'page');
      }
      neighbour = below.value.goals[0]?.id;
    }
    if (neighbour === undefined) return seeOther(reply, view, 'unmoved', id);
    const place = direction === 'up' ? { before: neighbour } : { after: neighbour };
    const result = await settle(goalsApi.moveGoal(id, place, caller));
    if (isRefusal(result, 404)) return seeOther(reply, view, 'missing');
    if (isRefusal(result, 409)) return seeOther(reply, view, 'unmoved', id);
    if (result instanceof ApiError || !result.ok) {
      return redirectWithFailure(request, reply, view, result, 'the move', {}, 'page');
    }
    return seeOther(reply, view, direction === 'up' ? 'movedUp' : 'movedDown', id);
  });

  goalFormRoute('delete', async ({ request, reply, caller, view, id }) => {
    const result = await settle(goalsApi.deleteGoal(id, caller));
    // Already gone is what the person wanted.
    if (!(result instanceof ApiError) && (result.ok || result.status === 404)) {
      // The status line offers Undo for this goal (see GET /).
      return reply.redirect(viewUrl(view, { status: 'deleted', deleted: id }), 303);
    }
    return redirectWithFailure(request, reply, view, result, 'the deletion', {}, 'page');
  });

  goalFormRoute('restore', async ({ request, reply, caller, view, id }) => {
    const result = await settle(goalsApi.restoreGoal(id, caller));
    if (isRefusal(result, 404) || isRefusal(result, 410)) {
      return seeOther(reply, view, 'unrestorable');
    }
    if (result instanceof ApiError || !result.ok) {
      return redirectWithFailure(request, reply, view, result, 'the undo', {}, 'page');
    }
    return seeOther(reply, view, 'restored', id);
  });
}
