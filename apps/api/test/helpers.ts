import type { AccountCreated } from '@goal-tracker/contract';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createTestServer, type TestDatabases } from '@goal-tracker/test-support/postgres';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import {
  buildApp,
  DEFAULT_SETTINGS,
  type App,
  type AppSettings,
  type AppTuning,
} from '../src/app.js';
import { urlCredentials } from '../src/db/credentials.js';
import { Database, type DatabaseOptions } from '../src/db/database.js';
import { migrate } from '../src/db/migrations.js';
import { ReadCache } from '../src/caching/read-cache.js';
import { recordResponses } from './support/document-check.js';

export const silentLog: Logger = pino({ level: 'silent' });

export type PoolOverrides = Partial<Omit<DatabaseOptions, 'credentials' | 'log'>>;

export function testDatabase(url: string, overrides: PoolOverrides = {}): Database {
  return new Database({
    credentials: urlCredentials(url),
    poolMax: 10,
    connectTimeoutMs: 1000,
    statementTimeoutMs: 5000,
    log: silentLog,
    ...overrides,
  });
}

/** Something requests can be sent to: an app, or an app as a signed-in account. */
export interface Injector {
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
}

/** An account signed up for a test, and the app as that account sees it. */
export interface TestAccount extends Injector {
  token: string;
  account: AccountCreated['account'];
  recoveryCode: string;
}

export const TEST_PASSWORD = 'a long test password';

let accounts = 0;

/** A fresh email, so tests sharing a database never collide. */
export function uniqueEmail(label = 'person'): string {
  accounts += 1;
  return `${label}-${process.pid}-${accounts}@example.com`;
}

/** Signs up a new account on `app` and gives a way to send requests as it. */
export async function signUp(app: App, email = uniqueEmail()): Promise<TestAccount> {
  const response = await app.inject({
    method: 'POST',
    url: '/accounts',
    headers: json,
    payload: { email, password: TEST_PASSWORD },
  });
  if (response.statusCode !== 201) {
    throw new Error(`sign-up failed: ${response.statusCode} ${response.body}`);
  }
  const created = response.json<AccountCreated>();
  return { ...created, inject: (options) => injectAs(app, created.token, options) };
}

/** The account `token` signs in, as a TestAccount on `app`. */
async function accountOf(app: App, token: string): Promise<TestAccount> {
  const response = await injectAs(app, token, { method: 'GET', url: '/account' });
  if (response.statusCode !== 200) throw new Error(`no account: ${response.statusCode}`);
  return {
    token,
    account: response.json<AccountCreated['account']>(),
    recoveryCode: '',
    inject: (options) => injectAs(app, token, options),
  };
}

/** Sends a request with `Authorization: Bearer <token>`, unless it names its own. */
export function injectAs(app: App, token: string, options: InjectOptions) {
  const headers = { authorization: `Bearer ${token}`, ...options.headers };
  return app.inject({ ...options, headers });
}

/**
 * Settings for tests: the abuse limits off but the goal cap, as tests sign up, fail and write
 * in bursts from one address. The limits have tests of their own, with the defaults.
 */
export const TEST_SETTINGS: AppSettings = {
  ...DEFAULT_SETTINGS,
  limits: {
    ...DEFAULT_SETTINGS.limits,
    signinFailuresPerEmail: 0,
    signinFailuresPerAddress: 0,
    signupsPerAddressPerHour: 0,
    goalWritesPerMinute: 0,
  },
};

export interface TestApi extends Injector {
  app: App;
  /** The account `inject` sends requests as. */
  account: TestAccount;
  db: Database;
  /** The app's list and summary cache. */
  cache: ReadCache;
  close(): Promise<void>;
}

/** The API over a migrated database at `url`, ready for app.inject(). */
export async function createTestApi(
  url: string,
  overrides: PoolOverrides = {},
  tuning: AppTuning = {},
  settings: AppSettings = TEST_SETTINGS,
  /** Act as the account this token signs in (one made on another instance); a new one if absent. */
  token?: string,
): Promise<TestApi> {
  const db = testDatabase(url, overrides);
  await migrate(db, { log: silentLog });
  const cache = new ReadCache();
  const app = await buildApp({ db, tuning, cache, settings });
  const responses = recordResponses(app);
  const account = token === undefined ? await signUp(app) : await accountOf(app, token);
  return {
    app,
    account,
    inject: (options) => account.inject(options),
    db,
    cache,
    async close() {
      // Every response the test file's requests got must be what the document says.
      const undocumented = await responses.check();
      await app.close();
      await db.close();
      if (undocumented.length > 0) {
        throw new Error(
          `responses the OpenAPI document does not describe:\n${undocumented.join('\n')}`,
        );
      }
    },
  };
}

/** The API a test file shares, and more databases on the same server. */
export interface SharedTestApi extends TestApi {
  createDatabase(prefix: string): Promise<string>;
}

/**
 * The API a test file shares: a database of its own (on a throwaway cluster, or on the server
 * DATABASE_URL names), an app over it made before the file's tests and closed after them.
 * `reset` empties the goals before each test. Usable inside tests and hooks only.
 */
export function useTestApi(prefix: string, { reset = false } = {}): SharedTestApi {
  let server: TestDatabases | undefined;
  let current: TestApi | undefined;
  beforeAll(async () => {
    server = await createTestServer();
    current = await createTestApi(await server.createDatabase(prefix));
  });
  afterAll(async () => {
    await current?.close();
    await server?.dispose();
  });
  const api = (): TestApi => {
    if (!current) throw new Error('useTestApi: the API exists only inside tests and hooks');
    return current;
  };
  if (reset) beforeEach(() => resetData(api()));
  return {
    get app() {
      return api().app;
    },
    get account() {
      return api().account;
    },
    get db() {
      return api().db;
    },
    get cache() {
      return api().cache;
    },
    inject: (options) => api().inject(options),
    close: () => api().close(),
    createDatabase: (name) => server!.createDatabase(name),
  };
}

/** A test file's database server, and the APIs its tests make on it. */
export interface TestApis<Server extends TestDatabases> {
  /** The server, started before the file's tests and disposed after them. */
  readonly server: Server;
  /** An API as createTestApi makes it, closed after the test that made it. */
  create(...args: Parameters<typeof createTestApi>): Promise<TestApi>;
  /** For a test that closes `api` itself: it is then not closed again after the test. */
  closedByTest(api: TestApi): void;
}

/**
 * For test files whose tests each make their own APIs (with other settings, or two on one
 * database): one server for the file from `start`, and each test's APIs closed after it.
 * Usable inside tests and hooks only.
 */
export function useTestApis<Server extends TestDatabases>(
  start: () => Promise<Server>,
): TestApis<Server> {
  let server: Server | undefined;
  const open: TestApi[] = [];
  beforeAll(async () => {
    server = await start();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((api) => api.close()));
  });
  afterAll(async () => {
    await server?.dispose();
  });
  return {
    get server() {
      if (!server) throw new Error('useTestApis: the server exists only inside tests and hooks');
      return server;
    },
    async create(...args) {
      const api = await createTestApi(...args);
      open.push(api);
      return api;
    },
    closedByTest(api) {
      const index = open.indexOf(api);
      if (index >= 0) open.splice(index, 1);
    },
  };
}

export const json = { 'content-type': 'application/json' };

/** POST /goals with a JSON body `{ name }`. */
export function postGoal(app: Injector, name: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/goals',
    headers: { ...json, ...headers },
    payload: { name },
  });
}

/** POST /account/password as `person`, from `currentPassword` to `newPassword`. */
export function changePassword(
  person: Injector,
  newPassword: string,
  currentPassword = TEST_PASSWORD,
) {
  return person.inject({
    method: 'POST',
    url: '/account/password',
    headers: json,
    payload: { currentPassword, newPassword },
  });
}

/** DELETE /account as `person`, confirmed with `password`. */
export function deleteAccount(person: Injector, password = TEST_PASSWORD) {
  return person.inject({ method: 'DELETE', url: '/account', headers: json, payload: { password } });
}

/** PATCH /goals/{id} with a JSON body. */
export function patchGoal(app: Injector, id: number | undefined, payload: Record<string, unknown>) {
  return app.inject({ method: 'PATCH', url: `/goals/${id}`, headers: json, payload });
}

/**
 * Empties the goals between tests that share one database, and restarts the ids; accounts
 * stay. The rows change behind the API's back (no NOTIFY), so its cache is dropped here.
 */
export async function resetData(api: TestApi): Promise<void> {
  await api.db.session((query) => query('TRUNCATE goals, idempotency_keys RESTART IDENTITY'));
  api.cache.invalidate();
}

/** How many goals the database holds, read outside the API. */
export async function countGoals(db: Database): Promise<number> {
  return db.session(async (query) => {
    const { rows } = await query<{ count: number }>('SELECT count(*)::int AS count FROM goals');
    return rows[0]?.count ?? -1;
  });
}

/** Polls `condition` every 10 ms until it holds; fails once `timeoutMs` has passed. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
