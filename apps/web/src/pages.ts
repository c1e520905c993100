import { randomUUID } from 'node:crypto';
import { checkGoalName, GOAL_NAME_PROBLEMS } from '@goal-tracker/contract';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountsApi } from './accounts-api.js';
import { ApiError } from './api-client.js';
import { isRefusal, isSignedOut, settle, type Caller, type Refusal } from './api-result.js';
import type { Assets } from './assets.js';
import {
  FAILURE_STATUS,
  field,
  sameSiteOnly,
  sendNotFound,
  signedIn,
  toSignIn,
  type FormBody,
} from './forms.js';
import type { GoalsApi } from './goals-api.js';
import { sendHtml } from './responses.js';
import {
  adoptedText,
  doneFor,
  parseId,
  parseStatus,
  parseView,
  STATUSES,
  viewUrl,
  type Status,
  type View,
} from './view.js';
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

function idempotencyKey(body: FormBody): string {
  const key = field(body, 'idempotencyKey');
  return IDEMPOTENCY_KEY.test(key) ? key : randomUUID();
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
  caller: Caller,
  log: FastifyBaseLogger,
): Promise<PageData | undefined> {
  const done = doneFor(view.filter);
  const [page, summary, account] = await Promise.all([
    settle(
      goalsApi.listGoals(
        {
          limit: 50,
          ...(view.after === undefined ? {} : { after: view.after }),
          ...(done === undefined ? {} : { done }),
        },
        caller,
      ),
    ),
    settle(goalsApi.summary(caller)),
    settle(accountsApi.account(caller)),
  ]);
  if ([page, summary, account].some(isSignedOut)) return undefined;
  // Without the account the header just says "Signed in"; the goals matter more.
  let email: string | undefined;
  if (account instanceof ApiError || !account.ok) {
    log.debug({ failure: account }, 'the account is unavailable');
  } else {
    email = account.value.email;
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
    return { list: { state: 'ok', page: page.value, remaining: undefined }, email };
  }
  return { list: { state: 'ok', page: page.value, remaining: summary.value.active }, email };
}

function seeOther(reply: FastifyReply, view: View, status: Status, goalId?: number): FastifyReply {
  const fragment = goalId === undefined ? '' : `#goal-${goalId}`;
  return reply.redirect(viewUrl(view, { status }) + fragment, 303);
}

/** The list page and the plain-form actions that work without JavaScript. */
export function registerPages(app: FastifyInstance, options: PagesOptions): void {
  const { goalsApi, assets } = options;

  /** Renders the goals page, asking the API for what it shows unless that is already known. */
  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: Caller,
    status: number,
    view: View,
    parts: Partial<Omit<GoalsPageModel, 'view' | 'assets' | 'list' | 'email'>> & {
      data?: PageData;
    },
  ): Promise<FastifyReply> {
    const { data: known, ...rest } = parts;
    const data = known ?? (await loadPage(options, view, caller, request.log));
    if (!data) return toSignIn(request, reply);
    const model: GoalsPageModel = {
      ...rest,
      view,
      list: data.list,
      email: data.email,
      assets,
      add: parts.add ?? { value: '', idempotencyKey: randomUUID() },
    };
    return sendHtml(request, reply, status, goalsPage(model));
  }

  /**
   * Sends the page back after a failed action; an outage means the list is not asked for, and
   * a session that has ended means signing in again.
   */
  function renderFailure(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: Caller,
    view: View,
    failure: ApiError | Refusal,
    action: string,
    parts: Partial<Pick<GoalsPageModel, 'add' | 'edit'>>,
    onField: 'add' | 'edit' | 'page',
  ): Promise<FastifyReply> | FastifyReply {
    if (isSignedOut(failure)) return toSignIn(request, reply);
    const outage = failure instanceof ApiError;
    const message = outage ? failureMessage(failure, action) : refusalMessage(failure);
    const status = outage ? FAILURE_STATUS[failure.kind] : failure.status;
    if (outage) request.log.warn({ err: failure }, `could not save ${action}`);
    const withMessage = { ...parts };
    if (onField === 'add' && parts.add) withMessage.add = { ...parts.add, error: message };
    if (onField === 'edit' && parts.edit) withMessage.edit = { ...parts.edit, error: message };
    return render(request, reply, caller, status, view, {
      ...withMessage,
      ...(onField === 'page' ? { error: message } : {}),
      ...(outage ? { data: { list: { state: 'unavailable' }, email: undefined } } : {}),
    });
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
      const data = await loadPage(options, view, caller, request.log);
      if (!data) return toSignIn(request, reply);
      const { list } = data;
      const editing =
        editId === undefined || list.state !== 'ok'
          ? undefined
          : list.page.goals.find((goal) => goal.id === editId);
      const notice = status ? STATUSES[status] : adopted && adoptedText(adopted);
      return render(request, reply, caller, 200, view, {
        data,
        ...(editing ? { edit: { id: editing.id, value: editing.name } } : {}),
        ...(notice ? { notice } : {}),
      });
    }),
  );

  app.post(
    '/goals',
    formRoute,
    signedIn(async (request, reply, caller) => {
      const view = parseView(request.query as Query);
      const body = request.body as FormBody;
      const raw = field(body, 'name');
      const add = { value: raw, idempotencyKey: idempotencyKey(body) };
      const checked = checkGoalName(raw);
      if (checked.problem) {
        return render(request, reply, caller, 400, view, {
          add: { ...add, error: GOAL_NAME_PROBLEMS[checked.problem] },
        });
      }
      const result = await settle(goalsApi.createGoal(checked.name, add.idempotencyKey, caller));
      if (result instanceof ApiError || !result.ok) {
        return renderFailure(request, reply, caller, view, result, 'your goal', { add }, 'add');
      }
      return seeOther(reply, view, 'added');
    }),
  );

  app.post(
    '/goals/:id/toggle',
    formRoute,
    signedIn(async (request, reply, caller) => {
      const view = parseView(request.query as Query);
      const id = parseId((request.params as { id: string }).id);
      const done = field(request.body as FormBody, 'done');
      if (id === undefined || (done !== 'true' && done !== 'false'))
        return sendNotFound(request, reply, assets);
      const result = await settle(goalsApi.updateGoal(id, { done: done === 'true' }, caller));
      if (isRefusal(result, 404)) {
        return seeOther(reply, view, 'missing');
      }
      if (result instanceof ApiError || !result.ok) {
        return renderFailure(request, reply, caller, view, result, 'the change', {}, 'page');
      }
      const stillShown = doneFor(view.filter) === undefined;
      return seeOther(
        reply,
        view,
        result.value.done ? 'done' : 'undone',
        stillShown ? id : undefined,
      );
    }),
  );

  app.post(
    '/goals/:id/rename',
    formRoute,
    signedIn(async (request, reply, caller) => {
      const view = parseView(request.query as Query);
      const id = parseId((request.params as { id: string }).id);
      if (id === undefined) return sendNotFound(request, reply, assets);
      const raw = field(request.body as FormBody, 'name');
      const checked = checkGoalName(raw);
      if (checked.problem) {
        return render(request, reply, caller, 400, view, {
          edit: { id, value: raw, error: GOAL_NAME_PROBLEMS[checked.problem] },
        });
      }
      const result = await settle(goalsApi.updateGoal(id, { name: checked.name }, caller));
      if (isRefusal(result, 404)) {
        return seeOther(reply, view, 'missing');
      }
      if (result instanceof ApiError || !result.ok) {
        const edit = { edit: { id, value: raw } };
        return renderFailure(request, reply, caller, view, result, 'the new name', edit, 'edit');
      }
      return seeOther(reply, view, 'renamed', id);
    }),
  );

  app.post(
    '/goals/:id/delete',
    formRoute,
    signedIn(async (request, reply, caller) => {
      const view = parseView(request.query as Query);
      const id = parseId((request.params as { id: string }).id);
      if (id === undefined) return sendNotFound(request, reply, assets);
      const result = await settle(goalsApi.deleteGoal(id, caller));
      // Already gone is what the person wanted.
      if (!(result instanceof ApiError) && (result.ok || result.status === 404)) {
        return seeOther(reply, view, 'deleted');
      }
      return renderFailure(request, reply, caller, view, result, 'the deletion', {}, 'page');
    }),
  );
}
