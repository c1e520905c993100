/**
 * What every drill does the same way: record what it saw and the checks it made, run on a
 * throwaway database, start the API the drills' way and sign accounts up on it.
 */
import { accountIds, bearer, describeEnv, signUpAccounts, type SignedIn } from './accounts.js';
import { seedGoals, startBenchDatabase, type BenchDatabase } from './postgres.js';
import { stopAllServers, type ServerProcess } from './server.js';
import { startApi } from './stack.js';

export interface DrillResult {
  name: string;
  passed: boolean;
  /** What happened, line by line, as printed. */
  lines: string[];
  /** The checks that failed; empty when the drill passed. */
  failures: string[];
  /** Figures for the record (counts, milliseconds). */
  facts: Record<string, number | string>;
}

export interface DrillOptions {
  /** Where progress lines go; console.log by default. */
  log?: (line: string) => void;
}

/** Collects what a drill saw and the checks it made, and prints as it goes. */
export class DrillRecorder {
  readonly lines: string[] = [];
  readonly failures: string[] = [];
  readonly facts: Record<string, number | string> = {};
  private readonly started = performance.now();

  constructor(
    readonly name: string,
    private readonly print: (line: string) => void = (line) => console.log(line),
  ) {}

  /** Milliseconds since the drill started. */
  elapsed(): number {
    return performance.now() - this.started;
  }

  note(line: string): void {
    this.lines.push(line);
    this.print(`[${this.name} ${(this.elapsed() / 1000).toFixed(1).padStart(5)} s] ${line}`);
  }

  fact(key: string, value: number | string): void {
    this.facts[key] = typeof value === 'number' ? Math.round(value * 100) / 100 : value;
  }

  check(ok: boolean, what: string): boolean {
    this.note(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    if (!ok) this.failures.push(what);
    return ok;
  }

  /** Records an unexpected error (e.g. a server that would not start) as a failure. */
  crash(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.check(false, `drill could not run: ${message}`);
  }

  result(): DrillResult {
    return {
      name: this.name,
      passed: this.failures.length === 0,
      lines: this.lines,
      failures: this.failures,
      facts: this.facts,
    };
  }
}

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

/** What a drill's body gets from runDrill. */
export interface DrillContext {
  drill: DrillRecorder;
  database: BenchDatabase;
  /** An API instance on the drill's database, with DRILL_API_ENV and then `env`. */
  startApi: (options?: { name?: string; env?: Record<string, string> }) => Promise<ServerProcess>;
  /** signUpForDrill on this drill and its database. */
  signUp: (api: ServerProcess, counts: { count: number; goals: number }) => Promise<SignedIn[]>;
}

/**
 * Runs a drill's body against a fresh throwaway database. Whatever happens, `cleanup` runs,
 * every server the body started is stopped and the database is deleted; an error the body
 * throws is recorded as a failed check. Returns the drill's result.
 */
export async function runDrill(
  name: string,
  options: DrillOptions,
  body: (context: DrillContext) => Promise<void>,
  cleanup?: () => Promise<unknown>,
): Promise<DrillResult> {
  const drill = new DrillRecorder(name, options.log);
  const database = await startBenchDatabase();
  try {
    await body({
      drill,
      database,
      startApi: ({ name: instance, env } = {}) =>
        startApi(database, {
          ...(instance === undefined ? {} : { name: instance }),
          env: { ...DRILL_API_ENV, ...env },
        }),
      signUp: (api, counts) => signUpForDrill(drill, api, database, counts),
    });
  } catch (error) {
    drill.crash(error);
  } finally {
    await cleanup?.().catch(() => undefined);
    await stopAllServers();
    await database.dispose();
  }
  return drill.result();
}

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
