import {
  describeKinds,
  type HttpRequest,
  isSuccess,
  loadLoop,
  type Recorded,
} from '../harness/http-client.js';
import { withClient } from '@goal-tracker/test-support/with-client';
import { inTurn, runDrill, sleep, type DrillOptions, type DrillResult } from '../harness/drill.js';

export interface SigtermDrillOptions extends DrillOptions {
  connections?: number;
  /** Load before the signal, in milliseconds. */
  loadBeforeMs?: number;
}

const EXIT_DEADLINE_MS = 10_000;

/**
 * SIGTERM to the API under a read and write load. Every request the API accepted must get
 * its full, successful answer; the process must exit by itself within 10 s. A request is
 * accepted when the API processed it: answered it, or (for writes) stored it. Connections
 * refused after the listener closed, and requests reset on an idle kept-alive socket that
 * the server never read, were not accepted; writes prove which is which, since each
 * POST carries a unique name that is looked up afterwards.
 */
export async function sigtermDrill(options: SigtermDrillOptions = {}): Promise<DrillResult> {
  return runDrill('sigterm', options, async ({ drill, database, startApi, signUp }) => {
    const api = await startApi();
    const as = inTurn(await signUp(api, { count: 8, goals: 50 }));
    drill.note(`API pid ${api.pid} ready in ${api.startToReadyMs.toFixed(0)} ms; starting load`);

    let signalledAt = Number.POSITIVE_INFINITY;
    let exitedAt = Number.POSITIVE_INFINITY;
    const next = (i: number): HttpRequest =>
      i % 2 === 0
        ? { path: '/goals?limit=20', headers: as(i >> 1), timeoutMs: 15_000 }
        : {
            method: 'POST',
            path: '/goals',
            body: { name: `sigterm ${i}` },
            headers: as(i >> 1),
            timeoutMs: 15_000,
          };
    const load = loadLoop({
      baseUrl: api.url,
      connections: options.connections ?? 16,
      next,
      // Keep knocking for a moment after exit, so refused connections are seen too.
      shouldStop: () => performance.now() > exitedAt + 300,
      maxRequests: 500_000,
      maxDurationMs: 30_000,
    });
    await sleep(options.loadBeforeMs ?? 1500);
    signalledAt = performance.now();
    api.child.kill('SIGTERM');
    const exit = await Promise.race([
      api.exited,
      sleep(EXIT_DEADLINE_MS + 5000).then(() => undefined),
    ]);
    exitedAt = performance.now();
    const records = await load;
    const exitMs = exitedAt - signalledAt;
    await api.stop('SIGKILL');

    const inFlight = records.filter(
      ({ outcome }) =>
        outcome.startedAt < signalledAt && outcome.startedAt + outcome.ms > signalledAt,
    );
    const before = records.filter(({ outcome }) => outcome.startedAt + outcome.ms <= signalledAt);
    const after = records.filter((record) => !before.includes(record));
    drill.note(
      `SIGTERM with ${inFlight.length} requests in flight; exit ${exit ? `code ${exit.code} signal ${exit.signal}` : 'never'} after ${exitMs.toFixed(0)} ms`,
    );
    drill.note(`before the signal: ${describeKinds(before)}`);
    drill.note(`from the signal on: ${describeKinds(after)}`);

    // Requests that got no answer at all: were they processed? Writes tell.
    const unanswered = records.filter(({ outcome }) => outcome.status === 0 && !outcome.truncated);
    const unansweredNames = unanswered
      .filter(({ request }) => request.method === 'POST')
      .map(({ request }) => (request.body as { name: string }).name);
    const storedUnanswered = await withClient(database.url, async (client) => {
      const result = await client.query<{ name: string }>(
        'SELECT goal_name AS name FROM goals WHERE goal_name = ANY($1::text[])',
        [unansweredNames],
      );
      return result.rows.map((row) => row.name);
    });
    const acceptedFailures: Recorded[] = records.filter(({ outcome, request }) => {
      if (isSuccess(outcome)) return false;
      if (outcome.truncated || outcome.error === 'TIMEOUT') return true;
      if (outcome.status === 0) {
        return (
          request.method === 'POST' &&
          storedUnanswered.includes((request.body as { name: string }).name)
        );
      }
      // The one refusal a draining server may give: 503 once shutdown began.
      if (outcome.status === 503) return outcome.startedAt + outcome.ms < signalledAt;
      return true;
    });
    drill.fact('requests', records.length);
    drill.fact('succeeded', records.filter(({ outcome }) => isSuccess(outcome)).length);
    drill.fact('inFlightAtSignal', inFlight.length);
    drill.fact('exitMs', exitMs);
    drill.fact('acceptedFailures', acceptedFailures.length);
    drill.fact('unansweredWritesStored', storedUnanswered.length);

    drill.check(
      inFlight.length > 0 && before.length > 100,
      `the API was under load when signalled (${before.length} answered before, ${inFlight.length} in flight)`,
    );
    drill.note(`requests in flight at the signal ended as: ${describeKinds(inFlight)}`);
    drill.check(
      acceptedFailures.length === 0,
      `zero failures among accepted requests (${acceptedFailures.length}: ${describeKinds(acceptedFailures)}; ` +
        `${unanswered.length} unanswered requests were never processed, ${storedUnanswered.length} unanswered writes were stored)`,
    );
    drill.check(
      exit !== undefined && exitMs <= EXIT_DEADLINE_MS,
      `the API exited by itself within ${EXIT_DEADLINE_MS / 1000} s (${exitMs.toFixed(0)} ms)`,
    );
    drill.check(
      exit?.code === 0,
      `the exit was clean (code ${exit?.code}, signal ${exit?.signal})`,
    );
  });
}
