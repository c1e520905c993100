import {
  checkNewPassword,
  EMAIL_MAX_LENGTH,
  EMAIL_PATTERN,
  PASSWORD_PROBLEMS,
  SIGN_IN_FAILED,
  type PasskeySignInInput,
} from '@goal-tracker/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountsApi, Recovered } from './accounts-api.js';
import { ApiError } from './api-client.js';
import {
  isRefusal,
  settle,
  type ApiResult,
  type Caller,
  type Refusal,
  type Visitor,
} from './api-result.js';
import type { Assets } from './assets.js';
import type { Markup } from './html.js';
import {
  FAILURE_STATUS,
  field,
  sameSiteOnly,
  sendNotFound,
  SIGN_IN_PATH,
  signedIn,
  toSignIn,
  type FormBody,
} from './forms.js';
import type { GoalsApi } from './goals-api.js';
import { refuseCrossSite, sendErrorProblem, sendProblem } from './proxy.js';
import { sendHtml } from './responses.js';
import { forwardedFor } from './security.js';
import { clearSessionCookie, sessionToken, setSessionCookie } from './session.js';
import {
  accountPage,
  recoverPage,
  recoveryCodePage,
  signInPage,
  signUpPage,
  type AccountModel,
  type SignedOutFormModel,
} from './views/account-pages.js';
import { errorPage } from './views/layout.js';
import { parseId } from './view.js';

export interface AccountPagesOptions {
  accountsApi: AccountsApi;
  goalsApi: GoalsApi;
  assets: Assets;
}

/** What an account action did, said on the page its redirect leads to. */
const STATUSES = {
  'signed-out': 'You are signed out.',
  'account-deleted': 'Your account and all its goals are deleted.',
  'password-changed': 'Your password is changed, and every other device is signed out.',
  'passkey-added': 'Your passkey is added: you can sign in with it instead of your password.',
  'passkey-removed': 'The passkey is removed: it no longer signs you in.',
} as const;
type Status = keyof typeof STATUSES;

function notice(query: unknown): string | undefined {
  const status = (query as Record<string, unknown>).status;
  return typeof status === 'string' && Object.hasOwn(STATUSES, status)
    ? STATUSES[status as Status]
    : undefined;
}

/** The web tier's own passkey sign-in: client/passkeys.ts posts here (DEFAULT_SIGN_IN_ENDPOINT). */
const PASSKEY_SIGN_IN_PATH = '/signin/passkey';

const EMAIL = new RegExp(EMAIL_PATTERN);

function emailProblem(email: string): string | undefined {
  if (email === '') return 'Enter your email address.';
  if (email.length > EMAIL_MAX_LENGTH || !EMAIL.test(email)) {
    return 'Enter an email address such as name@example.com.';
  }
  return undefined;
}

function passwordProblem(password: string, email: string): string | undefined {
  const problem = checkNewPassword(password, email);
  return problem && PASSWORD_PROBLEMS[problem];
}

function waitText(seconds: number | undefined): string {
  if (seconds === undefined || seconds < 1) return 'a moment';
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

function visitor(request: FastifyRequest): Visitor {
  return { requestId: request.id, forwardedFor: forwardedFor(request) };
}

function refusalMessage(refusal: Refusal): string {
  return refusal.problem.detail ?? refusal.problem.title;
}

/**
 * How a page reports an answer that is no one field's fault: an outage, too many attempts, or
 * another refusal. The status goes back to the browser too (with Retry-After for a 429).
 */
function formFailure(
  reply: FastifyReply,
  result: ApiError | Refusal,
): { status: number; error: string } {
  if (result instanceof ApiError) {
    return {
      status: FAILURE_STATUS[result.kind],
      error:
        result.kind === 'timeout'
          ? 'The service did not answer in time. Try again in a moment.'
          : 'Accounts are unavailable right now. Try again in a moment.',
    };
  }
  if (result.status === 429) {
    if (result.retryAfter !== undefined) reply.header('retry-after', String(result.retryAfter));
    return {
      status: 429,
      error: `Too many attempts. Wait ${waitText(result.retryAfter)} and try again.`,
    };
  }
  return { status: result.status, error: refusalMessage(result) };
}

/** What each account form asks of the API, and what its answers mean for the form. */
interface AccountForm<Errors extends Record<string, string | undefined>, T> {
  /** Each field's problem, found before the API is asked (undefined where there is none). */
  errors: Errors;
  /**
   * The new password's field, in a form that has one: a problem there is a rule broken (422),
   * in any other field a value missing or malformed (400), which goes first.
   */
  newPassword?: keyof Errors;
  send: () => Promise<ApiResult<T>>;
  done: (answer: T) => FastifyReply | Promise<FastifyReply>;
  /** The refusals that are one field's fault, by status, and what that field then says. */
  refused?: Partial<Record<number, (refusal: Refusal) => Partial<NoInfer<Errors>>>>;
}

/**
 * How every account form answers a post. A field with a problem sends the form back at once
 * (400, or 422; see `newPassword`), and the API is not asked. Otherwise the API's answer:
 * `done` on success; a refusal the form expects beside its field; a 401 that asks for
 * credentials means the session behind the form has ended (a 401 without it refused a
 * password typed into the form); anything else (an outage, too many attempts) above the
 * form, with its status.
 */
async function answerForm<Errors extends Record<string, string | undefined>, T>(
  request: FastifyRequest,
  reply: FastifyReply,
  page: (
    status: number,
    parts: { errors?: Partial<NoInfer<Errors>>; error?: string },
  ) => FastifyReply | Promise<FastifyReply>,
  form: AccountForm<Errors, T>,
): Promise<FastifyReply> {
  const { errors, newPassword } = form;
  const invalid = Object.keys(errors).filter((name) => errors[name] !== undefined);
  if (invalid.length > 0) {
    return page(invalid.every((name) => name === newPassword) ? 422 : 400, { errors });
  }
  const result = await settle(form.send());
  if (!(result instanceof ApiError)) {
    if (result.ok) return form.done(result.value);
    if (result.status === 401 && result.challenged) return toSignIn(request, reply);
    const fieldErrors = form.refused?.[result.status]?.(result);
    if (fieldErrors) return page(result.status, { errors: fieldErrors });
  }
  const failure = formFailure(reply, result);
  return page(failure.status, { error: failure.error });
}

/** Sign-up, sign-in, recovery and the account page: plain forms that work without JavaScript. */
export function registerAccountPages(app: FastifyInstance, options: AccountPagesOptions): void {
  const { accountsApi, goalsApi, assets } = options;
  const formRoute = sameSiteOnly(assets);

  /**
   * Puts a session the API has just made in the cookie. A session the browser had before (a
   * sign-in over another) is ended, so that no token outlives the cookie that carried it.
   */
  function startSession(request: FastifyRequest, reply: FastifyReply, token: string): void {
    const previous = sessionToken(request);
    setSessionCookie(request, reply, token);
    if (previous === undefined || previous === token) return;
    goalsApi.forget(previous);
    accountsApi.signOut({ token: previous, requestId: request.id }).catch((error: unknown) => {
      request.log.debug({ err: error }, 'could not end the replaced session');
    });
  }

  /**
   * The page that shows a new recovery code, as the answer to the form post that made it: the
   * code is never in a URL or a cookie, and the page is not stored (no-store, set with the
   * session cookie), so it is shown this once.
   */
  function showRecoveryCode(
    request: FastifyRequest,
    reply: FastifyReply,
    answer: Recovered & { adoptedGoals?: number },
    after: 'sign-up' | 'recovery',
  ): FastifyReply {
    startSession(request, reply, answer.token);
    const page = recoveryCodePage({
      assets,
      email: answer.account.email,
      code: answer.recoveryCode,
      adoptedGoals: answer.adoptedGoals,
      after,
    });
    return sendHtml(request, reply, 201, page);
  }

  /**
   * A signed-out form's page again, as the answer to its post: the email typed is kept, and
   * nothing else typed (a password, a recovery code) is sent back.
   */
  function formAgain<Field extends string>(
    request: FastifyRequest,
    reply: FastifyReply,
    view: (model: SignedOutFormModel<Field>) => Markup,
    email: string,
  ) {
    return (status: number, parts: Partial<SignedOutFormModel<Field>>) =>
      sendHtml(request, reply, status, view({ assets, email, errors: {}, ...parts }));
  }

  function endSession(request: FastifyRequest, reply: FastifyReply, token: string | undefined) {
    if (token !== undefined) goalsApi.forget(token);
    clearSessionCookie(request, reply);
  }

  // Someone already signed in has nothing to do on these pages. (Only the cookie is looked at:
  // one that no longer works is dropped by the goals page, which sends them back here.)
  app.get(SIGN_IN_PATH, async (request, reply) => {
    if (sessionToken(request) !== undefined) return reply.redirect('/', 303);
    const page = signInPage({ assets, email: '', errors: {}, notice: notice(request.query) });
    return sendHtml(request, reply, 200, page);
  });

  app.post(SIGN_IN_PATH, formRoute, async (request, reply) => {
    const body = request.body as FormBody;
    const email = field(body, 'email').trim();
    const password = field(body, 'password');
    return answerForm(request, reply, formAgain(request, reply, signInPage, email), {
      errors: {
        email: emailProblem(email),
        password: password === '' ? 'Enter your password.' : undefined,
      },
      send: () => accountsApi.signIn({ email, password }, visitor(request)),
      done: ({ token, adoptedGoals }) => {
        startSession(request, reply, token);
        return reply.redirect(adoptedGoals ? `/?adopted=${adoptedGoals}` : '/', 303);
      },
      // Never which part was wrong, for an unknown email too; the email stays, the password not.
      refused: { 401: () => ({ password: SIGN_IN_FAILED }) },
    });
  });

  app.get('/signup', async (request, reply) => {
    if (sessionToken(request) !== undefined) return reply.redirect('/', 303);
    return sendHtml(request, reply, 200, signUpPage({ assets, email: '', errors: {} }));
  });

  app.post('/signup', formRoute, async (request, reply) => {
    const body = request.body as FormBody;
    const email = field(body, 'email').trim();
    const password = field(body, 'password');
    return answerForm(request, reply, formAgain(request, reply, signUpPage, email), {
      errors: { email: emailProblem(email), password: passwordProblem(password, email) },
      newPassword: 'password',
      send: () => accountsApi.signUp({ email, password }, visitor(request)),
      done: (answer) => showRecoveryCode(request, reply, answer, 'sign-up'),
      refused: {
        409: () => ({
          email:
            'An account with this email already exists. Sign in, or use its recovery code if the password is lost.',
        }),
        422: (refusal) => ({ password: refusalMessage(refusal) }),
      },
    });
  });

  app.get('/recover', async (request, reply) =>
    sendHtml(request, reply, 200, recoverPage({ assets, email: '', errors: {} })),
  );

  app.post('/recover', formRoute, async (request, reply) => {
    const body = request.body as FormBody;
    const email = field(body, 'email').trim();
    const recoveryCode = field(body, 'recoveryCode').trim();
    const newPassword = field(body, 'newPassword');
    return answerForm(request, reply, formAgain(request, reply, recoverPage, email), {
      errors: {
        email: emailProblem(email),
        code: recoveryCode === '' ? 'Enter the recovery code you saved.' : undefined,
        password: passwordProblem(newPassword, email),
      },
      newPassword: 'password',
      send: () => accountsApi.recover({ email, recoveryCode, newPassword }, visitor(request)),
      done: (answer) => showRecoveryCode(request, reply, answer, 'recovery'),
      refused: {
        401: () => ({ code: 'The email or recovery code is incorrect.' }),
        422: (refusal) => ({ password: refusalMessage(refusal) }),
      },
    });
  });

  // Ends the session even when the API cannot be reached: the cookie goes either way.
  app.post('/signout', formRoute, async (request, reply) => {
    const token = sessionToken(request);
    if (token !== undefined) {
      const result = await settle(accountsApi.signOut({ token, requestId: request.id }));
      if (result instanceof ApiError || (!result.ok && result.status !== 401)) {
        request.log.warn({ failure: result }, 'the API did not end the session');
      }
    }
    endSession(request, reply, token);
    return reply.redirect(`${SIGN_IN_PATH}?status=signed-out`, 303);
  });

  /**
   * The account page, with the account and its passkeys asked for again (they may have changed
   * elsewhere). Passkeys that cannot be listed leave the rest of the page working.
   */
  async function renderAccount(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: Caller,
    status: number,
    parts: Partial<Omit<AccountModel, 'account' | 'passkeys' | 'assets'>>,
  ): Promise<FastifyReply> {
    const [result, listed] = await Promise.all([
      settle(accountsApi.account(caller)),
      settle(accountsApi.passkeys(caller)),
    ]);
    if (isRefusal(result, 401)) return toSignIn(request, reply);
    if (result instanceof ApiError || !result.ok) {
      request.log.warn({ failure: result }, 'the account is unavailable');
      const failure = formFailure(reply, result);
      const page = errorPage(assets, 'Your account is unavailable right now', failure.error);
      return sendHtml(request, reply, failure.status, page);
    }
    const passkeys = listed instanceof ApiError || !listed.ok ? undefined : listed.value.passkeys;
    if (passkeys === undefined)
      request.log.warn({ failure: listed }, 'the passkeys are unavailable');
    return sendHtml(
      request,
      reply,
      status,
      accountPage({ errors: {}, ...parts, account: result.value, passkeys, assets }),
    );
  }

  /** POST `path`: a plain form on the account page, same-site and signed in. */
  function accountForm(path: string, handle: Parameters<typeof signedIn>[0]): void {
    app.post(path, formRoute, signedIn(handle));
  }

  app.get(
    '/account',
    signedIn((request, reply, caller) =>
      renderAccount(request, reply, caller, 200, { notice: notice(request.query) }),
    ),
  );

  accountForm('/account/password', async (request, reply, caller) => {
    const body = request.body as FormBody;
    const currentPassword = field(body, 'currentPassword');
    const newPassword = field(body, 'newPassword');
    const page = (status: number, parts: Partial<AccountModel>) =>
      renderAccount(request, reply, caller, status, parts);
    return answerForm(request, reply, page, {
      errors: {
        currentPassword: currentPassword === '' ? 'Enter your current password.' : undefined,
        // The rule against the email itself is the API's to check here: it knows the email.
        newPassword: passwordProblem(newPassword, ''),
      },
      newPassword: 'newPassword',
      send: () => accountsApi.changePassword({ currentPassword, newPassword }, caller),
      done: ({ token }) => {
        goalsApi.forget(caller.token);
        setSessionCookie(request, reply, token);
        return reply.redirect('/account?status=password-changed', 303);
      },
      refused: {
        401: () => ({
          currentPassword: 'The current password is incorrect, so the password was not changed.',
        }),
        422: (refusal) => ({ newPassword: refusalMessage(refusal) }),
      },
    });
  });

  accountForm('/account/delete', async (request, reply, caller) => {
    const password = field(request.body as FormBody, 'password');
    const page = (status: number, parts: Partial<AccountModel>) =>
      renderAccount(request, reply, caller, status, parts);
    return answerForm(request, reply, page, {
      errors: { deletePassword: password === '' ? 'Enter your password to confirm.' : undefined },
      send: () => accountsApi.deleteAccount({ password }, caller),
      done: () => {
        endSession(request, reply, caller.token);
        return reply.redirect(`${SIGN_IN_PATH}?status=account-deleted`, 303);
      },
      refused: {
        401: () => ({ deletePassword: 'That password is incorrect, so nothing was deleted.' }),
      },
    });
  });

  accountForm('/account/passkeys/:id/remove', async (request, reply, caller) => {
    const id = parseId((request.params as { id: string }).id);
    if (id === undefined) return sendNotFound(request, reply, assets);
    const result = await settle(accountsApi.removePasskey(id, caller));
    // Already gone (removed in another tab, say) is what the person wanted.
    if (!(result instanceof ApiError) && (result.ok || result.status === 404)) {
      return reply.redirect('/account?status=passkey-removed', 303);
    }
    if (isRefusal(result, 401)) return toSignIn(request, reply);
    const failure = formFailure(reply, result);
    return renderAccount(request, reply, caller, failure.status, { error: failure.error });
  });

  /**
   * A passkey sign-in: the page's passkey module posts what the browser answered, as JSON, and
   * the session it buys goes into the cookie, as a password sign-in's does. The token never
   * reaches the page. Answers 204, or the API's problem document.
   */
  app.post(
    PASSKEY_SIGN_IN_PATH,
    {
      onRequest: refuseCrossSite,
      // A malformed or oversized body is answered as a problem too, not as an HTML page.
      errorHandler: (error, request, reply) => void sendErrorProblem(error, request, reply),
    },
    async (request, reply) => {
      const response = (request.body as { response?: unknown } | null | undefined)?.response;
      if (typeof response !== 'object' || response === null || Array.isArray(response)) {
        return sendProblem(reply, {
          type: 'about:blank',
          title: 'Bad Request',
          status: 400,
          detail: 'Send what the passkey answered as JSON: { "response": … }.',
        });
      }
      const result = await settle(
        accountsApi.signInWithPasskey({ response } as PasskeySignInInput, visitor(request)),
      );
      if (!(result instanceof ApiError) && result.ok) {
        startSession(request, reply, result.value.token);
        return reply.code(204).send();
      }
      return sendSignInFailure(request, reply, result);
    },
  );
}

/**
 * Why a passkey sign-in did not start a session, for the page's script: the API's own problem
 * document (an unverified passkey, too many attempts, with Retry-After), or an outage.
 */
function sendSignInFailure(
  request: FastifyRequest,
  reply: FastifyReply,
  result: ApiError | Refusal,
): FastifyReply {
  if (!(result instanceof ApiError)) {
    if (result.retryAfter !== undefined) reply.header('retry-after', String(result.retryAfter));
    return sendProblem(reply, result.problem);
  }
  request.log.warn({ err: result }, 'the API call failed');
  const failure = formFailure(reply, result);
  if (result.kind === 'unavailable') reply.header('retry-after', '5');
  return sendProblem(reply, {
    type: 'about:blank',
    title: 'Sign-in is unavailable right now',
    status: failure.status,
    detail: failure.error,
  });
}
