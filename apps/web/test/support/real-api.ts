import { createTestDatabase } from '@goal-tracker/test-support/postgres';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { goalsClient, signUpOnApi, type GoalsClient, type TestAccount } from './goals.js';
import { startApi, type ServerProcess } from './processes.js';

/** The real API a test file shares, and the account its tests act as. */
export interface RealApi {
  /** `http://127.0.0.1:<port>`; the same after a restart. */
  readonly url: string;
  /** Signed up once for the file; its goals are emptied before each test. */
  readonly account: TestAccount;
  /** The account's goals, straight on the API. */
  readonly goals: GoalsClient;
  /** Stops the API, as an outage would. */
  stop(): Promise<void>;
  /** Starts the stopped API again on the same port and database. */
  restart(): Promise<void>;
}

/**
 * The real API on a throwaway database, started before the file's tests and stopped after
 * them, with one account signed up on it. Usable inside tests and hooks only.
 */
export function useRealApi(databasePrefix: string): RealApi {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let api: ServerProcess | undefined;
  let signedUp: { account: TestAccount; goals: GoalsClient } | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(databasePrefix);
    api = await startApi(database.url);
    const account = await signUpOnApi(api.url);
    signedUp = { account, goals: goalsClient(api.url, account.token) };
  });
  afterAll(async () => {
    await api?.stop();
    await database?.dispose();
  });
  beforeEach(async () => {
    await shared().goals.clear();
  });
  const shared = () => {
    if (!api || !database || !signedUp) {
      throw new Error('useRealApi: the API exists only inside tests and hooks');
    }
    return { api, database, ...signedUp };
  };
  return {
    get url() {
      return shared().api.url;
    },
    get account() {
      return shared().account;
    },
    get goals() {
      return shared().goals;
    },
    async stop() {
      await shared().api.stop();
    },
    async restart() {
      const { api: stopped, database: current } = shared();
      api = await startApi(current.url, { port: stopped.port });
    },
  };
}
