import { bearer, sessionCookie, type SignedIn } from '../harness/accounts.js';
import {
  createdId,
  describeKinds,
  type HttpRequest,
  isSuccess,
  loadLoop,
  outcomeKind,
} from '../harness/http-client.js';
import {
  ALB_HEALTH_CHECK,
  startLoadBalancer,
  type HealthCheck,
  type LoadBalancer,
} from '../harness/haproxy.js';
import { withClient } from '@goal-tracker/test-support/with-client';
import { startWeb } from '../harness/stack.js';
import { runDrill, sleep, type DrillOptions, type DrillResult } from '../harness/drill.js';

export interface InstanceLossDrillOptions extends DrillOptions {
  connections?: number;
  healthCheck?: HealthCheck;
  loadBeforeMs?: number;
}

/**
 * Two API instances behind HAProxy configured like the internal ALB (same health check, no
 * retry on another target), the web tier in front. One API instance is killed (SIGKILL, as
 * an instance lost) mid-run; the load through the web tier continues until the health check
 * has certainly marked it down, and every request must still succeed. Writes carry unique
 * names: each acknowledged one must be stored exactly once. Requests are signed in: the page
 * with the session cookie, /api with Authorization: Bearer.
 */
export async function instanceLossDrill(
  options: InstanceLossDrillOptions = {},
): Promise<DrillResult> {
  const check = options.healthCheck ?? ALB_HEALTH_CHECK;
  let balancer: LoadBalancer | undefined;
  return runDrill(
    'instance-loss',
    options,
    async ({ drill, database, startApi, signUp }) => {
      const first = await startApi({ name: 'api-1' });
      const second = await startApi({ name: 'api-2' });
      balancer = await startLoadBalancer(
        [
          { name: 'api-1', port: first.port },
          { name: 'api-2', port: second.port },
        ],
        check,
      );
      const web = await startWeb(balancer.url);
      const accounts = await signUp(first, { count: 4, goals: 30 });
      const account = (i: number) => accounts[i % accounts.length] as SignedIn;
      drill.note(
        `two API instances behind HAProxy (check GET ${check.path} every ${check.intervalS} s, ` +
          `down after ${check.unhealthyThreshold} failures, no retries), web tier in front`,
      );
      // HAProxy starts a server one failed check away from down; an ALB target that has been
      // healthy for a while needs the full unhealthy threshold. Wait for that state.
      const fullHealth = check.healthyThreshold + check.unhealthyThreshold - 1;
      const healthDeadline =
        performance.now() + (check.intervalS * check.unhealthyThreshold + 5) * 1000;
      while ((await balancer.servers()).some((server) => server.health < fullHealth)) {
        if (performance.now() > healthDeadline)
          throw new Error('HAProxy never saw both instances healthy');
        await sleep(250);
      }
      drill.note('both instances fully healthy in HAProxy; load through the web tier starts');

      let killedAt = Number.POSITIVE_INFINITY;
      const detectionMs = (check.intervalS * check.unhealthyThreshold + check.timeoutS) * 1000;
      const next = (i: number): HttpRequest => {
        if (i % 10 === 0) {
          return {
            method: 'POST',
            path: '/api/goals',
            body: { name: `loss ${i}` },
            headers: bearer(account(i)),
            timeoutMs: 15_000,
          };
        }
        if (i % 5 === 0)
          return { path: '/', headers: sessionCookie(account(i)), timeoutMs: 15_000 };
        return { path: '/api/goals?limit=20', headers: bearer(account(i)), timeoutMs: 15_000 };
      };
      const load = loadLoop({
        baseUrl: web.url,
        connections: options.connections ?? 8,
        next,
        shouldStop: () => performance.now() > killedAt + detectionMs + 3000,
        maxRequests: 1_000_000,
        maxDurationMs: detectionMs + 20_000,
      });
      await sleep(options.loadBeforeMs ?? 3000);
      killedAt = performance.now();
      await second.stop('SIGKILL');
      drill.note(
        `killed api-2 (SIGKILL); load continues ${((detectionMs + 3000) / 1000).toFixed(0)} s`,
      );
      const records = await load;

      const markedDown = balancer.events.find(
        (event) => event.at > killedAt && /api-2 is DOWN/.test(event.line),
      );
      drill.note(
        markedDown
          ? `HAProxy marked api-2 down ${((markedDown.at - killedAt) / 1000).toFixed(1)} s after the kill`
          : 'HAProxy never marked api-2 down during the run',
      );
      const before = records.filter(({ outcome }) => outcome.startedAt < killedAt);
      const after = records.filter(({ outcome }) => outcome.startedAt >= killedAt);
      // The page answers 200 even when it could not list the goals; it then shows the
      // "Goals are unavailable right now" block (id="unavailable"): a failure for its user.
      const failed = records.filter(
        ({ outcome }) => !isSuccess(outcome) || outcome.body.includes('id="unavailable"'),
      );
      const kindOf = ({ outcome }: (typeof records)[number]) =>
        isSuccess(outcome) ? `${outcome.status} page saying unavailable` : outcomeKind(outcome);
      drill.note(`before the kill: ${describeKinds(before)}`);
      drill.note(`after the kill: ${describeKinds(after)}`);
      if (failed.length) {
        const firstFailure = Math.min(...failed.map(({ outcome }) => outcome.startedAt)) - killedAt;
        const lastFailure = Math.max(...failed.map(({ outcome }) => outcome.startedAt)) - killedAt;
        drill.note(
          `failures from ${(firstFailure / 1000).toFixed(1)} s to ${(lastFailure / 1000).toFixed(1)} s after the kill; ` +
            `by path: ${describeKinds(failed, ({ request }) => `${request.method ?? 'GET'} ${request.path}`)}`,
        );
      }

      const acknowledged = records
        .map(({ outcome }) => createdId(outcome))
        .filter((id): id is number => id !== undefined);
      const names = records
        .filter(({ request }) => request.method === 'POST')
        .map(({ request }) => (request.body as { name: string }).name);
      const { present, duplicates } = await withClient(database.url, async (client) => {
        const ids = await client.query<{ count: string }>(
          'SELECT count(*) AS count FROM goals WHERE id = ANY($1::bigint[])',
          [acknowledged],
        );
        const repeated = await client.query<{ count: string }>(
          `SELECT count(*) AS count FROM (SELECT goal_name FROM goals WHERE goal_name = ANY($1::text[])
         GROUP BY goal_name HAVING count(*) > 1) AS twice`,
          [names],
        );
        return {
          present: Number(ids.rows[0]?.count ?? 0),
          duplicates: Number(repeated.rows[0]?.count ?? 0),
        };
      });
      await web.stop();
      await first.stop();

      drill.fact('requests', records.length);
      drill.fact('afterKill', after.length);
      drill.fact('failed', failed.length);
      drill.fact('acknowledgedWrites', acknowledged.length);
      drill.check(after.length > 50, `the load ran on after the kill (${after.length} requests)`);
      drill.check(
        failed.length === 0,
        `every request through the web tier succeeded (${failed.length} failed: ${describeKinds(failed, kindOf)})`,
      );
      drill.check(
        present === acknowledged.length,
        `every acknowledged write is stored (${present} of ${acknowledged.length})`,
      );
      drill.check(duplicates === 0, `no write stored twice (${duplicates} names twice)`);
    },
    () => balancer?.stop() ?? Promise.resolve(),
  );
}
