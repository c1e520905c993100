import { bearer, type SignedIn } from '../harness/accounts.js';
import {
  describeKinds,
  type HttpOutcome,
  type HttpRequest,
  isSuccess,
  send,
} from '../harness/http-client.js';
import pg from 'pg';
import { runDrill, sleep, type DrillOptions, type DrillResult } from '../harness/drill.js';

export interface PoolExhaustionDrillOptions extends DrillOptions {
  requests?: number;
  poolMax?: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
  /** How long the table stays locked, in milliseconds. */
  lockMs?: number;
}

/** Slack over the API's own timeouts for scheduling on a busy 2-core machine. */
const SLACK_MS = 1500;

/**
 * 200 concurrent requests against a pool of 10 while the database is slowed: a session holds
 * an ACCESS EXCLUSIVE lock on `goals`, so every statement on it waits. The 10 requests that
 * get a connection wait for the lock and end at the statement timeout; the others must not
 * queue forever, but get 503 once the connect timeout has passed. No request may hang, and
 * once the lock is gone the pool serves normally (no leaked connections).
 */
export async function poolExhaustionDrill(
  options: PoolExhaustionDrillOptions = {},
): Promise<DrillResult> {
  const requests = options.requests ?? 200;
  const connectTimeoutMs = options.connectTimeoutMs ?? 1000;
  const statementTimeoutMs = options.statementTimeoutMs ?? 3000;
  const lockMs = options.lockMs ?? statementTimeoutMs + 1000;
  let locker: pg.Client | undefined;
  return runDrill(
    'pool-exhaustion',
    options,
    async ({ drill, database, startApi, signUp }) => {
      locker = new pg.Client({ connectionString: database.url });
      const api = await startApi({
        env: {
          DB_POOL_MAX: String(options.poolMax ?? 10),
          DB_CONNECT_TIMEOUT_MS: String(connectTimeoutMs),
          DB_STATEMENT_TIMEOUT_MS: String(statementTimeoutMs),
        },
      });
      const [account] = await signUp(api, { count: 1, goals: 100 });
      const headers = bearer(account as SignedIn);
      // A signed-in user's token is known to the instance: its check needs no connection.
      await send(api.url, false, { path: '/goals?limit=1', headers });
      drill.note(
        `API ready: DB_POOL_MAX=${options.poolMax ?? 10}, DB_CONNECT_TIMEOUT_MS=${connectTimeoutMs}, ` +
          `DB_STATEMENT_TIMEOUT_MS=${statementTimeoutMs}`,
      );

      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE goals IN ACCESS EXCLUSIVE MODE');
      const lockedAt = performance.now();
      drill.note(`goals locked for ${lockMs} ms; sending ${requests} requests at once`);

      // Reads by id and writes: both need a pooled connection (a cached list might not).
      const burst: HttpRequest[] = Array.from({ length: requests }, (_, i) =>
        i % 2 === 0
          ? { path: `/goals/${(i % 100) + 1}`, headers, timeoutMs: 20_000 }
          : {
              method: 'POST',
              path: '/goals',
              body: { name: `burst ${i}` },
              headers,
              timeoutMs: 20_000,
            },
      );
      const answers = Promise.all(burst.map((request) => send(api.url, false, request)));
      await sleep(lockMs - (performance.now() - lockedAt));
      await locker.query('ROLLBACK');
      drill.note('lock released');
      const outcomes: HttpOutcome[] = await answers;
      const records = outcomes.map((outcome, i) => ({ outcome, request: burst[i] as HttpRequest }));

      const slowest = Math.max(...outcomes.map((outcome) => outcome.ms));
      const unavailable = outcomes.filter((outcome) => outcome.status === 503);
      // Halfway between the two timeouts tells a queued request's 503 from a lock-bound one's.
      const quickBound = (connectTimeoutMs + statementTimeoutMs) / 2;
      const quick503 = unavailable.filter((outcome) => outcome.ms <= quickBound);
      drill.note(`answers: ${describeKinds(records)}; slowest ${slowest.toFixed(0)} ms`);
      drill.note(
        `${quick503.length} of the 503s came within ${quickBound} ms (the connect timeout and some slack), ` +
          `the rest by the statement timeout`,
      );

      const after = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          send(api.url, false, { path: `/goals/${i + 1}`, headers }),
        ),
      );
      const ready = await send(api.url, false, { path: '/ready' });
      await api.stop();

      drill.fact('requests', requests);
      drill.fact('succeeded', outcomes.filter(isSuccess).length);
      drill.fact('unavailable', unavailable.length);
      drill.fact('slowestMs', slowest);
      drill.check(
        outcomes.every((outcome) => isSuccess(outcome) || outcome.status === 503),
        `each request succeeded or got 503 (${describeKinds(records)})`,
      );
      drill.check(
        unavailable.every((outcome) =>
          (outcome.headers['content-type'] ?? '').includes('problem+json'),
        ),
        'every 503 is a problem+json document',
      );
      drill.check(
        slowest <= Math.max(connectTimeoutMs, statementTimeoutMs) + SLACK_MS,
        `none hung: the slowest answer took ${slowest.toFixed(0)} ms (bound ${Math.max(connectTimeoutMs, statementTimeoutMs) + SLACK_MS} ms)`,
      );
      const poolMax = options.poolMax ?? 10;
      // A read holds a connection of its own. Creates are left to the hang check above: with
      // the goal cap off, creates arriving together share one INSERT (and one connection).
      const slowReads = records.filter(
        ({ outcome, request }) =>
          request.method === undefined && outcome.status === 503 && outcome.ms > quickBound,
      ).length;
      drill.check(
        slowReads <= poolMax,
        `all but the reads holding one of the ${poolMax} connections got their 503 within the connect timeout ` +
          `(${slowReads} reads and ${unavailable.length - quick503.length - slowReads} creates took longer)`,
      );
      drill.check(
        after.every(isSuccess) && ready.status === 200,
        `after the lock the pool serves again: ${after.filter(isSuccess).length}/20 ok, /ready ${ready.status}`,
      );
    },
    async () => locker?.end(),
  );
}
