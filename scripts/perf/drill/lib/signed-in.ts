import {
  accountIds,
  bearer,
  describeEnv,
  signUpAccounts,
  type SignedIn,
} from '../../harness/accounts.js';
import { seedGoals, type BenchDatabase } from '../../harness/postgres.js';
import type { ServerProcess } from '../../harness/server.js';
import type { DrillRecorder } from './recorder.js';

/**
 * The API's environment in the drills: production's, but for the per-account write rate, which
 * a drill's few accounts, writing as fast as they can, would reach within a second. The goal
 * cap stays on, so creates take the path they take in production.
 */
export const DRILL_API_ENV: Readonly<Record<string, string>> = { GOAL_WRITES_PER_MINUTE: '0' };

/**
 * Signs up `count` accounts on the API (fewer than the sign-ups one address may make in an
 * hour) and seeds `goals` goals spread over them, as seedGoals does; notes it.
 */
export async function signUpForDrill(
  drill: DrillRecorder,
  api: ServerProcess,
  database: BenchDatabase,
  { count, goals }: { count: number; goals: number },
): Promise<SignedIn[]> {
  const accounts = await signUpAccounts(api.url, count, drill.name);
  if (goals > 0) await seedGoals(database.url, accountIds(accounts), goals);
  drill.note(
    `signed up ${count} account${count === 1 ? '' : 's'} with ${goals} goals; every request ` +
      `carries a session token; API env ${describeEnv(DRILL_API_ENV)}, other limits as in production`,
  );
  return accounts;
}

/** The headers of the i-th request of a load: the accounts take turns. */
export const inTurn =
  (accounts: readonly SignedIn[]) =>
  (i: number): Record<string, string> =>
    bearer(accounts[i % accounts.length] as SignedIn);
