import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadLoop, send } from './http-client.js';
import { withClient } from '@goal-tracker/test-support/with-client';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';

/** An account the harness signed up, with the session token its requests carry. */
export interface SignedIn {
  id: number;
  email: string;
  password: string;
  token: string;
}

/**
 * Every abuse limit of the API (apps/api/src/accounts/limits.ts) turned off, as the bench runs
 * the API: its load comes from one address through a few accounts, far faster than a person.
 * With GOALS_PER_ACCOUNT off, creates arriving together share one INSERT.
 */
export const ABUSE_LIMITS_OFF: Readonly<Record<string, string>> = {
  GOAL_WRITES_PER_MINUTE: '0',
  GOALS_PER_ACCOUNT: '0',
  SIGNUPS_PER_ADDRESS_PER_HOUR: '0',
  SIGNIN_FAILURES_PER_EMAIL: '0',
  SIGNIN_FAILURES_PER_ADDRESS: '0',
};

/**
 * Checks that the API applies ABUSE_LIMITS_OFF: `count` changes to one goal of one account in
 * a burst, far more than a per-minute limit lets through. Answers the refusals, e.g.
 * `['429 Too many changes to goals: at most 120 a minute. Try again shortly.']`.
 */
export async function refusedWrites(
  apiUrl: string,
  account: SignedIn,
  goalId: number,
  count = 500,
): Promise<string[]> {
  const records = await loadLoop({
    baseUrl: apiUrl,
    connections: 8,
    next: () => ({
      method: 'PATCH',
      path: `/goals/${goalId}`,
      body: { done: true },
      headers: bearer(account),
    }),
    shouldStop: () => false,
    maxRequests: count,
    maxDurationMs: 30_000,
  });
  return records
    .filter(({ outcome }) => outcome.status !== 200)
    .map(({ outcome }) => {
      const problem = /"detail":"([^"]*)"/.exec(outcome.body)?.[1] ?? outcome.error ?? '';
      return `${outcome.status} ${problem}`.trim();
    });
}

export const describeEnv = (env: Readonly<Record<string, string>>) =>
  Object.entries(env)
    .map(([name, value]) => `${name}=${value}`)
    .join(', ');

/** Signs up one account (POST /accounts); throws with the API's answer when refused. */
export async function signUp(apiUrl: string, email: string): Promise<SignedIn> {
  const password = `bench ${randomBytes(12).toString('base64url')}`;
  const answer = await send(apiUrl, false, {
    method: 'POST',
    path: '/accounts',
    body: { email, password },
    timeoutMs: 15_000,
  });
  if (answer.status !== 201) {
    throw new Error(`signing up ${email} got ${answer.status || answer.error}: ${answer.body}`);
  }
  const { account, token } = JSON.parse(answer.body) as { account: { id: number }; token: string };
  return { id: account.id, email, password, token };
}

/**
 * Signs up `count` accounts one after another, `<label>-1@example.com` and on: on a fresh
 * database their ids follow each other. Each costs the API one password hash.
 */
export async function signUpAccounts(
  apiUrl: string,
  count: number,
  label: string,
): Promise<SignedIn[]> {
  const accounts: SignedIn[] = [];
  for (let i = 1; i <= count; i += 1) {
    accounts.push(await signUp(apiUrl, `${label}-${i}@example.com`));
  }
  return accounts;
}

export const accountIds = (accounts: readonly SignedIn[]) => accounts.map((account) => account.id);

/** Headers that sign a request to the API, or to the web tier's /api proxy, in as `account`. */
export const bearer = (account: SignedIn): Record<string, string> => ({
  authorization: `Bearer ${account.token}`,
});

/** The web tier's session cookie over plain HTTP (`session`; `__Host-session` over HTTPS). */
export const sessionCookie = (account: SignedIn): Record<string, string> => ({
  cookie: `session=${account.token}`,
});

export interface HashTiming {
  /** The hash's algorithm and parameters, as its encoding states them (`argon2id m=19456,t=2,p=1`). */
  parameters: string;
  times: number;
  /** Median milliseconds of one verification: wall clock, and CPU (which other work hardly moves). */
  medianMs: number;
  medianCpuMs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;

/**
 * Times what a sign-in's password check costs: the account's stored hash verified here with
 * the API's own build of its hashing library and the parameters the hash carries, `times`
 * times one after another (one thread, as one sign-in has).
 */
export async function timePasswordHash(
  databaseUrl: string,
  account: SignedIn,
  times = 20,
): Promise<HashTiming> {
  const passwordHash = await withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ hash: string }>(
      'SELECT password_hash AS hash FROM accounts WHERE id = $1',
      [account.id],
    );
    const found = rows[0]?.hash;
    if (!found) throw new Error(`account ${account.id} has no password hash`);
    return found;
  });
  const fromApi = createRequire(join(REPOSITORY_ROOT, 'apps/api/package.json'));
  const argon2 = fromApi('@node-rs/argon2') as {
    verify(hash: string, password: string): Promise<boolean>;
  };
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < times; i += 1) {
    const started = performance.now();
    // The hash runs on a libuv thread of this process: the process's CPU time counts it.
    const cpuBefore = process.cpuUsage();
    const matches = await argon2.verify(passwordHash, account.password);
    const used = process.cpuUsage(cpuBefore);
    wall.push(performance.now() - started);
    cpu.push((used.user + used.system) / 1000);
    if (!matches) throw new Error(`the stored hash of account ${account.id} did not match`);
  }
  const [, algorithm = '?', , parameters = '?'] = passwordHash.split('$');
  return {
    parameters: `${algorithm} ${parameters}`,
    times,
    medianMs: median(wall),
    medianCpuMs: median(cpu),
  };
}
