import { CrashBackoff } from '@goal-tracker/server-kit';
import { isPortFree } from '@goal-tracker/test-support/free-port';
import { build, buildPageScripts } from './build.js';
import { say } from './log-lines.js';
import { watchParent } from './parent-watch.js';
import { TierProcess, type StackMode, type Tier } from './tier-process.js';
import { watchForChanges } from './watch.js';

/**
 * The whole stack on one machine: an embedded PostgreSQL (unless DATABASE_URL names one), the
 * API and the web tier, started in order, stopped in reverse order.
 * `start` runs the production builds and starts a crashed tier again; `dev` runs the sources
 * and restarts what changed.
 */

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw ? Number(raw) : fallback;
  if (!Number.isInteger(value) || value < 1 || value > 65_535) {
    throw new Error(`${name} must be a port number, not "${raw}"`);
  }
  return value;
}

/**
 * One process per tier unless WORKERS says otherwise: this runner already restarts a crashed
 * tier, the pid it prints is the server's, and one person's browser needs no second core.
 * `WORKERS=2 npm start` tries the production shape (a primary and its workers) locally.
 */
const workers = process.env.WORKERS ?? '1';

function tiers(apiPort: number, webPort: number): Tier[] {
  const database: Tier = {
    name: 'db',
    ready: { field: 'databaseUrl' },
    entry: { start: 'scripts/local-stack/database.ts', dev: 'scripts/local-stack/database.ts' },
    env: {},
    watches: [],
  };
  return [
    ...(process.env.DATABASE_URL ? [] : [database]),
    {
      name: 'api',
      port: apiPort,
      ready: { path: '/ready' },
      entry: { start: 'apps/api/dist/main.js', dev: 'apps/api/src/main.ts' },
      env: {
        WORKERS: workers,
        // The web tier runs here on loopback and says who its clients are in X-Forwarded-For.
        TRUSTED_PROXIES: process.env.TRUSTED_PROXIES ?? '127.0.0.1',
        // Passkeys need a secure context: http://localhost is one, http://127.0.0.1 is not.
        WEBAUTHN_ORIGINS: process.env.WEBAUTHN_ORIGINS ?? `http://localhost:${webPort}`,
      },
      watches: ['apps/api/src', 'apps/api/migrations', 'packages/contract/src'],
    },
    {
      name: 'web',
      port: webPort,
      ready: { path: '/health' },
      entry: { start: 'apps/web/dist/main.js', dev: 'apps/web/src/main.ts' },
      env: { WORKERS: workers, API_URL: `http://127.0.0.1:${apiPort}` },
      watches: ['apps/web/src', 'apps/web/client', 'apps/web/public', 'packages/contract/src'],
    },
  ];
}

export async function runStack(mode: StackMode): Promise<void> {
  const apiPort = port('API_PORT', 8080);
  const webPort = port('WEB_PORT', 3000);

  for (const tier of tiers(apiPort, webPort)) {
    if (tier.port !== undefined && !(await isPortFree(tier.port))) {
      const variable = tier.name === 'api' ? 'API_PORT' : 'WEB_PORT';
      throw new Error(`port ${tier.port} is already in use; set ${variable} to another port`);
    }
  }

  // start: the production output of both apps (and what they reference) and the page's
  // scripts. dev: only the page's scripts, since the servers run from their sources.
  say('stack', mode === 'start' ? 'building apps/api and apps/web…' : 'building the page scripts…');
  const built =
    (mode === 'dev' || (await build(['apps/api', 'apps/web']))) && (await buildPageScripts());
  if (!built) throw new Error('the build failed');

  let stopping = false;
  const processes: TierProcess[] = [];
  const backoffs = new Map<TierProcess, CrashBackoff>();
  const restartTimers = new Set<NodeJS.Timeout>();
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolvePromise) => (finish = resolvePromise));

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    restartTimers.forEach((timer) => clearTimeout(timer));
    say('stack', 'stopping…');
    // Reverse order: the web tier, the API, then PostgreSQL.
    for (const tierProcess of [...processes].reverse()) await tierProcess.stop();
    say('stack', 'stopped');
    finish(code);
  };

  // start: the web tier keeps serving (its "unavailable" page) while the API comes back.
  const startAgainLater = (tierProcess: TierProcess) => {
    if (stopping) return;
    const { name } = tierProcess.tier;
    const backoff = backoffs.get(tierProcess) ?? new CrashBackoff();
    backoffs.set(tierProcess, backoff);
    const next = backoff.crashed();
    if (!next) {
      say('stack', `the ${name} crashed ${backoff.limit + 1} times in a row; giving up`);
      void stopAll(1);
      return;
    }
    say(
      'stack',
      `the ${name} stopped unexpectedly (${next.crash} of ${backoff.limit} restarts in a row); ` +
        `starting it again in ${next.delayMs / 1000} s`,
    );
    const timer = setTimeout(() => {
      restartTimers.delete(timer);
      if (stopping) return;
      tierProcess.start().then(
        () => {
          backoff.started();
          say('stack', `the ${name} is back`);
        },
        (error: Error) => {
          say('stack', error.message);
          startAgainLater(tierProcess);
        },
      );
    }, next.delayMs);
    restartTimers.add(timer);
  };

  const onUnexpectedExit = (tierProcess: TierProcess) => {
    if (stopping) return;
    if (mode === 'start') startAgainLater(tierProcess);
    else say('stack', `${tierProcess.tier.name} is down; it restarts on the next change`);
  };

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Several copies can arrive (the terminal's, and npm relaying it); one stop is enough.
    process.on(signal, () => void stopAll(0));
  }
  watchParent(() => {
    say('stack', 'the command that started this one has ended');
    void stopAll(0);
  });
  process.on('exit', () => processes.forEach((tierProcess) => tierProcess.killNow()));

  try {
    for (const tier of tiers(apiPort, webPort)) {
      if (stopping) break;
      // The database's URL (the same on every restart: its socket lives in its data directory).
      const databaseUrl = processes.find(({ tier }) => tier.name === 'db')?.announced;
      if (tier.name === 'api' && databaseUrl) tier.env.DATABASE_URL = databaseUrl;
      const tierProcess = new TierProcess(tier, mode, onUnexpectedExit);
      processes.push(tierProcess);
      const where = tier.port === undefined ? '' : ` on port ${tier.port}`;
      say('stack', `starting the ${tier.name}${where}…`);
      await tierProcess.start();
      const backoff = new CrashBackoff();
      backoff.started();
      backoffs.set(tierProcess, backoff);
    }
  } catch (error) {
    say('stack', (error as Error).message);
    await stopAll(1);
  }

  if (!stopping) {
    say('stack', `Goal Tracker is running at http://localhost:${webPort}`);
    say(
      'stack',
      `(the API at http://localhost:${apiPort}, its docs at http://localhost:${apiPort}/docs). ` +
        'Press Ctrl-C to stop.',
    );
  }

  const watchers = mode === 'dev' && !stopping ? watchForChanges(processes, () => stopping) : [];
  const code = await finished;
  watchers.forEach((watcher) => watcher.close());
  process.exitCode = code;
}

/** The body of start.ts and dev.ts: runs the stack, then exits with its code. */
export async function runStackCommand(mode: StackMode): Promise<never> {
  try {
    await runStack(mode);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
  process.exit();
}
