import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  checkNewPassword,
  PASSWORD_PROBLEMS,
  PASSKEY_SIGN_IN_FAILED,
  PROBLEM_CONTENT_TYPE,
  SIGN_IN_FAILED,
  type Account,
  type Goal,
  type Passkey,
} from '@goal-tracker/contract';
import { json, startFakeApi } from './fake-api.js';

/** What a goal made without a target date, never done and never changed carries. */
export const UNSET_GOAL_FIELDS = { targetDate: null, doneAt: null, version: 1 } as const;

interface StoredAccount {
  account: Account;
  password: string;
  recoveryCode: string;
  goals: Goal[];
  /** Bumped on every change to the goals; the ETags are made from it alone. */
  version: number;
  passkeys: Passkey[];
}

/** A passkey's credential id: what a browser's answer names it by (`response.id`). */
export const credentialIdOf = (passkey: Pick<Passkey, 'id'>) => `credential-${passkey.id}`;

type Body = Record<string, unknown>;

/** A string field of a JSON body, or '' when it is missing or not a string. */
function text(body: Body, key: string): string {
  const value = body[key];
  return typeof value === 'string' ? value : '';
}

/** A common password the fake refuses, as the real API's list does. */
export const COMMON_PASSWORD = 'password1234';

/**
 * An in-memory stand-in for the API's accounts contract: accounts, sessions (Bearer tokens),
 * each account's own goals and passkeys (no ceremony: a sign-in answer naming a passkey's
 * credential id, see credentialIdOf, signs in as its account). Its ETags are made from a per-account version that starts at 1
 * for everyone, so two accounts' lists carry the same ETag: a web tier that remembered answers
 * per path alone would hand one person's list to the other.
 */
export async function startFakeAccountsApi() {
  const accounts = new Map<string, StoredAccount>();
  const sessions = new Map<string, StoredAccount>();
  const state = {
    /** Answer every sign-in, sign-up and recovery with 429 and this Retry-After. */
    rateLimitSeconds: undefined as number | undefined,
    /** Goals from before accounts: the first account made or signed in to takes them over. */
    unownedGoals: [] as Goal[],
    /** Answer GET /passkeys with the API's 503 problem (its database is down). */
    passkeysDown: false,
  };
  let nextId = 1;

  const token = () => randomBytes(32).toString('base64url');

  function problem(response: ServerResponse, status: number, title: string, extra = {}): void {
    response.writeHead(status, { 'content-type': PROBLEM_CONTENT_TYPE, ...extra });
    response.end(JSON.stringify({ type: 'about:blank', title, status, detail: title }));
  }

  function session(account: StoredAccount): string {
    const made = token();
    sessions.set(made, account);
    return made;
  }

  function endSessions(account: StoredAccount): void {
    for (const [key, owner] of sessions) if (owner === account) sessions.delete(key);
  }

  function adopt(account: StoredAccount): { adoptedGoals?: number } {
    const adopted = state.unownedGoals.splice(0);
    if (adopted.length === 0) return {};
    account.goals.push(...adopted);
    account.version += 1;
    return { adoptedGoals: adopted.length };
  }

  function bearer(request: IncomingMessage): StoredAccount | undefined {
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
    return match ? sessions.get(match[1]!) : undefined;
  }

  function conditional(
    request: IncomingMessage,
    response: ServerResponse,
    etag: string,
    body: unknown,
  ): void {
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, { etag });
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', etag });
    response.end(JSON.stringify(body));
  }

  function goals(
    request: IncomingMessage,
    response: ServerResponse,
    owner: StoredAccount,
    body: Body,
  ): void {
    const url = new URL(request.url ?? '/', 'http://api');
    const id = Number(url.pathname.split('/')[2]);
    const goal = owner.goals.find((candidate) => candidate.id === id);
    const at = new Date().toISOString();
    if (request.method === 'GET' && url.pathname === '/goals/summary') {
      const done = owner.goals.filter((g) => g.done).length;
      const summary = {
        total: owner.goals.length,
        done,
        active: owner.goals.length - done,
        overdue: 0,
      };
      return conditional(request, response, `"s${owner.version}"`, summary);
    }
    if (request.method === 'GET' && url.pathname === '/goals') {
      const after = Number(url.searchParams.get('after') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 50);
      const done = url.searchParams.get('done');
      const matching = owner.goals.filter(
        (g) => g.id > after && (done === null || String(g.done) === done),
      );
      const page = matching.slice(0, limit);
      const next = matching.length > limit ? page[page.length - 1]!.id : null;
      return conditional(request, response, `"l${owner.version}"`, {
        goals: page,
        next,
        cursor: null,
      });
    }
    if (request.method === 'POST' && url.pathname === '/goals') {
      const created = { id: nextId++, name: text(body, 'name'), done: false };
      owner.goals.push({ ...created, createdAt: at, updatedAt: at, ...UNSET_GOAL_FIELDS });
      owner.version += 1;
      return json(response, 201, owner.goals[owner.goals.length - 1]);
    }
    // Another account's goal is not found, exactly like one that never existed.
    if (!goal) return problem(response, 404, 'Goal not found');
    if (request.method === 'PATCH') {
      Object.assign(goal, body, { updatedAt: at });
      owner.version += 1;
      return json(response, 200, goal);
    }
    if (request.method === 'DELETE') {
      owner.goals.splice(owner.goals.indexOf(goal), 1);
      owner.version += 1;
      response.writeHead(204).end();
      return;
    }
    problem(response, 405, 'Method not allowed');
  }

  function open(request: IncomingMessage, response: ServerResponse, body: Body) {
    const email = text(body, 'email');
    const found = accounts.get(email.toLowerCase());
    const limited = state.rateLimitSeconds;
    if (limited !== undefined) {
      return problem(response, 429, 'Too many attempts', { 'retry-after': String(limited) });
    }
    if (request.url === '/accounts') {
      const password = text(body, 'password');
      if (!email.includes('@')) return problem(response, 400, 'Bad request');
      if (found) return problem(response, 409, 'Email taken');
      const weak = password === COMMON_PASSWORD ? 'common' : checkNewPassword(password, email);
      if (weak) return problem(response, 422, PASSWORD_PROBLEMS[weak]);
      const account: StoredAccount = {
        account: { id: nextId++, email, createdAt: new Date().toISOString() },
        password,
        recoveryCode: token().slice(0, 20),
        goals: [],
        version: 1,
        passkeys: [],
      };
      accounts.set(email.toLowerCase(), account);
      return json(response, 201, {
        account: account.account,
        token: session(account),
        recoveryCode: account.recoveryCode,
        ...adopt(account),
      });
    }
    if (request.url === '/sessions') {
      if (!found || found.password !== body.password) {
        return problem(response, 401, SIGN_IN_FAILED);
      }
      return json(response, 201, {
        account: found.account,
        token: session(found),
        ...adopt(found),
      });
    }
    // POST /account/recovery
    if (!found || found.recoveryCode !== body.recoveryCode) {
      return problem(response, 401, 'The email or recovery code is incorrect.');
    }
    found.password = text(body, 'newPassword');
    found.recoveryCode = token().slice(0, 20);
    endSessions(found);
    return json(response, 201, {
      account: found.account,
      token: session(found),
      recoveryCode: found.recoveryCode,
    });
  }

  function passkeySignIn(response: ServerResponse, body: Body) {
    if (state.rateLimitSeconds !== undefined) {
      return problem(response, 429, 'Too many attempts', {
        'retry-after': String(state.rateLimitSeconds),
      });
    }
    const answer = body.response as Body | undefined;
    if (typeof answer?.id !== 'string') return problem(response, 400, 'Bad Request');
    const owner = [...accounts.values()].find((candidate) =>
      candidate.passkeys.some((passkey) => credentialIdOf(passkey) === answer.id),
    );
    if (!owner) return problem(response, 401, PASSKEY_SIGN_IN_FAILED);
    return json(response, 201, { account: owner.account, token: session(owner) });
  }

  function passkeys(request: IncomingMessage, response: ServerResponse, owner: StoredAccount) {
    if (request.method === 'GET' && request.url === '/passkeys') {
      if (state.passkeysDown) {
        return problem(response, 503, 'Service unavailable', { 'retry-after': '1' });
      }
      return json(response, 200, { passkeys: owner.passkeys });
    }
    const id = Number(/^\/passkeys\/(\d+)$/.exec(request.url ?? '')?.[1]);
    const index = owner.passkeys.findIndex((passkey) => passkey.id === id);
    if (request.method !== 'DELETE' || index === -1) {
      return problem(response, 404, 'There is no such passkey.');
    }
    owner.passkeys.splice(index, 1);
    response.writeHead(204).end();
  }

  const OPEN_ROUTES = new Set(['POST /accounts', 'POST /sessions', 'POST /account/recovery']);

  const server = await startFakeApi((request, response, _attempt, raw) => {
    const body = (raw.length > 0 ? JSON.parse(raw.toString('utf8')) : {}) as Body;
    const route = `${request.method} ${(request.url ?? '').split('?')[0]}`;
    if (OPEN_ROUTES.has(route)) return open(request, response, body);
    if (route === 'POST /sessions/passkey') return passkeySignIn(response, body);
    const owner = bearer(request);
    if (!owner) {
      return problem(response, 401, 'Sign in first', { 'www-authenticate': 'Bearer' });
    }
    const presented = request.headers.authorization!.slice('Bearer '.length);
    if (route === 'DELETE /sessions/current') {
      sessions.delete(presented);
      response.writeHead(204).end();
      return;
    }
    if (route === 'GET /account') return json(response, 200, owner.account);
    if (route === 'DELETE /account') {
      if (body.password !== owner.password) return problem(response, 401, 'Wrong password');
      endSessions(owner);
      accounts.delete(owner.account.email.toLowerCase());
      response.writeHead(204).end();
      return;
    }
    if (route === 'POST /account/password') {
      if (body.currentPassword !== owner.password) {
        return problem(response, 401, 'Wrong password');
      }
      const newPassword = text(body, 'newPassword');
      const weak =
        newPassword === COMMON_PASSWORD
          ? 'common'
          : checkNewPassword(newPassword, owner.account.email);
      if (weak) return problem(response, 422, PASSWORD_PROBLEMS[weak]);
      owner.password = newPassword;
      endSessions(owner);
      return json(response, 201, { account: owner.account, token: session(owner) });
    }
    if (/ \/passkeys(\/|$)/.test(route)) return passkeys(request, response, owner);
    if (route.startsWith('GET /goals') || / \/goals(\/|$)/.test(route)) {
      return goals(request, response, owner, body);
    }
    problem(response, 404, 'Not found');
  });

  return {
    ...server,
    state,
    /** Whether the API would still accept this token. */
    isLive: (presented: string) => sessions.has(presented),
    goalsOf: (email: string) => accounts.get(email.toLowerCase())?.goals ?? [],
    hasAccount: (email: string) => accounts.has(email.toLowerCase()),
    /** Gives the account a passkey, as if it had been added in a browser. */
    addPasskey(email: string, name: string): Passkey {
      const owner = accounts.get(email.toLowerCase());
      if (!owner) throw new Error(`no account ${email}`);
      const passkey = { id: nextId++, name, createdAt: new Date().toISOString(), lastUsedAt: null };
      owner.passkeys.push(passkey);
      return passkey;
    },
    passkeysOf: (email: string) => accounts.get(email.toLowerCase())?.passkeys ?? [],
  };
}

export type FakeAccountsApi = Awaited<ReturnType<typeof startFakeAccountsApi>>;
