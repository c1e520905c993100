import {
  createdId,
  describeKinds,
  type HttpRequest,
  isSuccess,
  loadLoop,
  send,
} from '../harness/http-client.js';
import { withClient } from '@goal-tracker/test-support/with-client';
import { probe } from '../harness/server.js';
import { inTurn, runDrill, sleep, type DrillOptions, type DrillResult } from '../harness/drill.js';

export interface PostgresRestartDrillOptions extends DrillOptions {
  connections?: number;
  /** How long PostgreSQL stays down, in milliseconds. */
  downMs?: number;
}

const RECOVERY_DEADLINE_MS = 5000;

/**
 * PostgreSQL stopped (fast shutdown, as a restart or failover does) and started again under
 * a write load. While it is down the API answers 503, never hangs or 500s; within 5 s of the
 * database being back, writes succeed again; and every write the API acknowledged with 201
 * is in the database afterwards.
 */
export async function postgresRestartDrill(
  options: PostgresRestartDrillOptions = {},
): Promise<DrillResult> {
  return runDrill('postgres-restart', options, async ({ drill, database, startApi, signUp }) => {
    const api = await startApi();
    const as = inTurn(await signUp(api, { count: 8, goals: 0 }));
    drill.note(`API ready in ${api.startToReadyMs.toFixed(0)} ms; write load starts`);

    let downAt = Number.POSITIVE_INFINITY;
    let upAt = Number.POSITIVE_INFINITY;
    let stopAt = Number.POSITIVE_INFINITY;
    const next = (i: number): HttpRequest => ({
      method: 'POST',
      path: '/goals',
      body: { name: `restart ${i}` },
      headers: as(i),
      timeoutMs: 15_000,
    });
    const load = loadLoop({
      baseUrl: api.url,
      connections: options.connections ?? 8,
      next,
      shouldStop: () => performance.now() > stopAt,
      maxRequests: 200_000,
      maxDurationMs: 40_000,
    });

    await sleep(1500);
    const stopRequested = performance.now();
    await database.server.stop();
    downAt = performance.now();
    drill.note(`PostgreSQL stopped (took ${(downAt - stopRequested).toFixed(0)} ms)`);
    await sleep(500);
    const readyWhileDown = await probe(`${api.url}/ready`, 5000);
    const healthWhileDown = await probe(`${api.url}/health`, 5000);
    await sleep(Math.max(0, (options.downMs ?? 3000) - 500));
    const startRequested = performance.now();
    await database.server.start();
    upAt = performance.now();
    drill.note(
      `PostgreSQL accepting connections again (start took ${(upAt - startRequested).toFixed(0)} ms)`,
    );
    stopAt = upAt + RECOVERY_DEADLINE_MS + 2000;
    const records = await load;

    const during = records.filter(
      ({ outcome }) =>
        outcome.startedAt >= downAt && outcome.startedAt + outcome.ms <= startRequested,
    );
    const before = records.filter(({ outcome }) => outcome.startedAt + outcome.ms < stopRequested);
    const afterUp = records.filter(({ outcome }) => outcome.startedAt >= upAt);
    const firstSuccess = afterUp.find(({ outcome }) => isSuccess(outcome));
    const recoveryMs = firstSuccess
      ? firstSuccess.outcome.startedAt + firstSuccess.outcome.ms - upAt
      : Number.POSITIVE_INFINITY;
    const lateFailures = records.filter(
      ({ outcome }) => outcome.startedAt >= upAt + RECOVERY_DEADLINE_MS && !isSuccess(outcome),
    );
    drill.note(`before the stop: ${describeKinds(before)}`);
    drill.note(
      `while down: ${describeKinds(during)}; /ready ${readyWhileDown}, /health ${healthWhileDown}`,
    );
    drill.note(`after the start: ${describeKinds(afterUp)}`);

    const acknowledged = records
      .map(({ outcome }) => createdId(outcome))
      .filter((id): id is number => id !== undefined);
    const present = await withClient(database.url, async (client) => {
      const result = await client.query<{ count: string }>(
        'SELECT count(*) AS count FROM goals WHERE id = ANY($1::bigint[])',
        [acknowledged],
      );
      return Number(result.rows[0]?.count ?? 0);
    });
    const stored = await withClient(database.url, async (client) => {
      const result = await client.query<{ count: string }>('SELECT count(*) AS count FROM goals');
      return Number(result.rows[0]?.count ?? 0);
    });
    // The list (which an API may cache) must show a write made after the restart.
    const created = await send(api.url, false, {
      method: 'POST',
      path: '/goals',
      body: { name: 'after restart' },
      headers: as(0),
    });
    const createdGoalId = createdId(created);
    // Newest first: with the write load over, the goal just made heads the account's list.
    const page = await send(api.url, false, { path: '/goals?limit=1', headers: as(0) });
    await api.stop();

    drill.fact('acknowledgedWrites', acknowledged.length);
    drill.fact('acknowledgedPresent', present);
    drill.fact('rowsStored', stored);
    drill.fact('recoveryMs', recoveryMs);
    drill.fact('responsesWhileDown', during.length);

    const unexpected = records.filter(
      ({ outcome }) => !isSuccess(outcome) && outcome.status !== 503,
    );
    drill.check(
      before.some(({ outcome }) => outcome.status === 201),
      'writes succeeded before the stop',
    );
    drill.check(
      during.length > 0 && during.every(({ outcome }) => outcome.status === 503),
      `every answer while PostgreSQL was down was 503 (${describeKinds(during)})`,
    );
    drill.check(readyWhileDown === 503, `/ready said 503 while down (${readyWhileDown})`);
    drill.check(healthWhileDown === 200, `/health stayed 200 while down (${healthWhileDown})`);
    drill.check(
      unexpected.length === 0,
      `no answer other than 201 or 503, no hang, at any time (${describeKinds(unexpected)})`,
    );
    drill.check(
      recoveryMs <= RECOVERY_DEADLINE_MS,
      `writes succeeded again ${recoveryMs.toFixed(0)} ms after PostgreSQL was back (deadline ${RECOVERY_DEADLINE_MS} ms)`,
    );
    drill.check(
      lateFailures.length === 0,
      `no failure once ${RECOVERY_DEADLINE_MS / 1000} s had passed (${describeKinds(lateFailures)})`,
    );
    drill.check(
      present === acknowledged.length,
      `every acknowledged write is stored: ${present} of ${acknowledged.length} (table holds ${stored})`,
    );
    drill.check(
      createdGoalId !== undefined && page.body.includes(`"id":${createdGoalId}`),
      `a goal created after the restart shows in GET /goals (${page.status})`,
    );
  });
}
