import { randomUUID } from 'node:crypto';
import { checkGoalName, type GoalNameProblem } from '@goal-tracker/contract';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ApiFailure } from './api-client.js';
import type { Assets } from './assets.js';
import type { ApiResult, GoalsApi, Refusal } from './goals-api.js';
import { sendHtml } from './responses.js';
import { isCrossSite } from './security.js';
import {
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
import { errorPage } from './views/layout.js';

export interface PagesOptions {
  goalsApi: GoalsApi;
  assets: Assets;
}

type FormBody = Record<string, string | string[] | undefined> | undefined;
type Query = Record<string, unknown>;

export const NAME_PROBLEMS: Record<GoalNameProblem, string> = {
  empty: 'Write a goal first: the name cannot be empty.',
  'too-long': 'That name is too long: keep it to 255 characters or fewer.',
  'control-characters': 'That name contains characters that cannot be shown, such as line breaks.',
};

const FAILURE_STATUS: Record<ApiFailure, number> = {
  unavailable: 503,
  timeout: 504,
  'bad-gateway': 502,
};

function failureMessage(error: ApiError, action: string): string {
  return error.kind === 'timeout'
    ? `The goal service did not answer in time, so ${action} may not be saved. Try again in a moment.`
    : `Goals are unavailable right now, so ${action} was not saved. Try again in a moment.`;
}

function refusalMessage(refusal: Refusal): string {
  return refusal.problem.detail ?? refusal.problem.title;
}

function field(body: FormBody, key: string): string {
  const value = body?.[key];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9-]{8,100}$/;

function idempotencyKey(body: FormBody): string {
  const key = field(body, 'idempotencyKey');
  return IDEMPOTENCY_KEY.test(key) ? key : randomUUID();
}

/** An API call's answer, with an unreachable API as a value rather than a throw. */
async function settle<T>(promise: Promise<ApiResult<T>>): Promise<ApiResult<T> | ApiError> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
}

/** The goals in view and the count of those left, asked for together. */
async function loadList(
  goalsApi: GoalsApi,
  view: View,
  requestId: string,
  log: FastifyBaseLogger,
): Promise<ListState> {
  const done = doneFor(view.filter);
  const [page, summary] = await Promise.all([
    settle(
      goalsApi.listGoals(
        {
          limit: 50,
          ...(view.after === undefined ? {} : { after: view.after }),
          ...(done === undefined ? {} : { done }),
        },
        requestId,
      ),
    ),
    settle(goalsApi.summary(requestId)),
  ]);
  if (page instanceof ApiError) {
    log.warn({ err: page }, 'goals are unavailable');
    return { state: 'unavailable' };
  }
  if (!page.ok) {
    log.error({ refusal: page }, 'the API refused to list goals');
    return { state: 'unavailable' };
  }
  // The list is what matters; without the count the page simply leaves it out. Debug only:
  // an API without /goals/summary yet (during a rolling update) would say so on every page.
  if (summary instanceof ApiError || !summary.ok) {
    log.debug({ failure: summary }, 'the goal count is unavailable');
    return { state: 'ok', page: page.value, remaining: undefined };
  }
  return { state: 'ok', page: page.value, remaining: summary.value.active };
}

function seeOther(reply: FastifyReply, view: View, status: Status, goalId?: number): FastifyReply {
  const fragment = goalId === undefined ? '' : `#goal-${goalId}`;
  return reply.redirect(viewUrl(view, { status }) + fragment, 303);
}

/** The list page and the plain-form actions that work without JavaScript. */
export function registerPages(app: FastifyInstance, { goalsApi, assets }: PagesOptions): void {
  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    view: View,
    parts: Partial<Omit<GoalsPageModel, 'view' | 'assets' | 'list'>> & { list?: ListState },
  ): Promise<FastifyReply> {
    const list = parts.list ?? (await loadList(goalsApi, view, request.id, request.log));
    const model: GoalsPageModel = {
      ...parts,
      view,
      list,
      assets,
      add: parts.add ?? { value: '', idempotencyKey: randomUUID() },
    };
    return sendHtml(request, reply, status, goalsPage(model));
  }

  /** Sends the page back after a failed action; an outage means the list is not asked for. */
  function renderFailure(
    request: FastifyRequest,
    reply: FastifyReply,
    view: View,
    failure: ApiError | Refusal,
    action: string,
    parts: Partial<Pick<GoalsPageModel, 'add' | 'edit'>>,
    onField: 'add' | 'edit' | 'page',
  ): Promise<FastifyReply> {
    const outage = failure instanceof ApiError;
    const message = outage ? failureMessage(failure, action) : refusalMessage(failure);
    const status = outage ? FAILURE_STATUS[failure.kind] : failure.status;
    if (outage) request.log.warn({ err: failure }, `could not save ${action}`);
    const withMessage = { ...parts };
    if (onField === 'add' && parts.add) withMessage.add = { ...parts.add, error: message };
    if (onField === 'edit' && parts.edit) withMessage.edit = { ...parts.edit, error: message };
    return render(request, reply, status, view, {
      ...withMessage,
      ...(onField === 'page' ? { error: message } : {}),
      ...(outage ? { list: { state: 'unavailable' } } : {}),
    });
  }

  // Another site must not be able to drive these forms; checked before the body is read, on
  // the form routes only.
  const sameSiteOnly = {
    onRequest(request: FastifyRequest, reply: FastifyReply, done: () => void) {
      if (!isCrossSite(request)) return done();
      request.log.warn({ origin: request.headers.origin }, 'refused a cross-site form post');
      sendHtml(
        request,
        reply,
        403,
        errorPage(
          assets,
          'This form came from another site',
          'For your safety, changes to your goals are only accepted from this page.',
        ),
      );
    },
  };

  app.get('/', async (request, reply) => {
    const query = request.query as Query;
    const view = parseView(query);
    const editId = parseId(query.edit);
    const status = parseStatus(query.status);
    const list = await loadList(goalsApi, view, request.id, request.log);
    const editing =
      editId === undefined || list.state !== 'ok'
        ? undefined
        : list.page.goals.find((goal) => goal.id === editId);
    return render(request, reply, 200, view, {
      list,
      ...(editing ? { edit: { id: editing.id, value: editing.name } } : {}),
      ...(status ? { notice: STATUSES[status] } : {}),
    });
  });

  app.post('/goals', sameSiteOnly, async (request, reply) => {
    const view = parseView(request.query as Query);
    const body = request.body as FormBody;
    const raw = field(body, 'name');
    const add = { value: raw, idempotencyKey: idempotencyKey(body) };
    const checked = checkGoalName(raw);
    if (checked.problem) {
      return render(request, reply, 400, view, {
        add: { ...add, error: NAME_PROBLEMS[checked.problem] },
      });
    }
    const result = await settle(goalsApi.createGoal(checked.name, add.idempotencyKey, request.id));
    if (result instanceof ApiError || !result.ok) {
      return renderFailure(request, reply, view, result, 'your goal', { add }, 'add');
    }
    return seeOther(reply, view, 'added');
  });

  app.post('/goals/:id/toggle', sameSiteOnly, async (request, reply) => {
    const view = parseView(request.query as Query);
    const id = parseId((request.params as { id: string }).id);
    const done = field(request.body as FormBody, 'done');
    if (id === undefined || (done !== 'true' && done !== 'false')) return notFound(request, reply);
    const result = await settle(goalsApi.updateGoal(id, { done: done === 'true' }, request.id));
    if (!(result instanceof ApiError) && !result.ok && result.status === 404) {
      return seeOther(reply, view, 'missing');
    }
    if (result instanceof ApiError || !result.ok) {
      return renderFailure(request, reply, view, result, 'the change', {}, 'page');
    }
    const stillShown = doneFor(view.filter) === undefined;
    return seeOther(
      reply,
      view,
      result.value.done ? 'done' : 'undone',
      stillShown ? id : undefined,
    );
  });

  app.post('/goals/:id/rename', sameSiteOnly, async (request, reply) => {
    const view = parseView(request.query as Query);
    const id = parseId((request.params as { id: string }).id);
    if (id === undefined) return notFound(request, reply);
    const raw = field(request.body as FormBody, 'name');
    const checked = checkGoalName(raw);
    if (checked.problem) {
      return render(request, reply, 400, view, {
        edit: { id, value: raw, error: NAME_PROBLEMS[checked.problem] },
      });
    }
    const result = await settle(goalsApi.updateGoal(id, { name: checked.name }, request.id));
    if (!(result instanceof ApiError) && !result.ok && result.status === 404) {
      return seeOther(reply, view, 'missing');
    }
    if (result instanceof ApiError || !result.ok) {
      return renderFailure(
        request,
        reply,
        view,
        result,
        'the new name',
        { edit: { id, value: raw } },
        'edit',
      );
    }
    return seeOther(reply, view, 'renamed', id);
  });

  app.post('/goals/:id/delete', sameSiteOnly, async (request, reply) => {
    const view = parseView(request.query as Query);
    const id = parseId((request.params as { id: string }).id);
    if (id === undefined) return notFound(request, reply);
    const result = await settle(goalsApi.deleteGoal(id, request.id));
    // Already gone is what the person wanted.
    if (!(result instanceof ApiError) && (result.ok || result.status === 404)) {
      return seeOther(reply, view, 'deleted');
    }
    return renderFailure(request, reply, view, result, 'the deletion', {}, 'page');
  });

  function notFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    return sendHtml(
      request,
      reply,
      404,
      errorPage(assets, 'Page not found', 'There is nothing at this address.'),
    );
  }
}
