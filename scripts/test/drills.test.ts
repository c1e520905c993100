import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALB_HEALTH_CHECK } from '../perf/harness/haproxy.js';
import { stopAllServers } from '../perf/harness/server.js';
import { assertBuilt } from '../perf/harness/stack.js';
import { cacheCoherenceDrill } from '../perf/drill/cache-coherence.js';
import { instanceLossDrill } from '../perf/drill/instance-loss.js';
import type { DrillResult } from '../perf/harness/drill.js';
import { poolExhaustionDrill } from '../perf/drill/pool-exhaustion.js';
import { postgresRestartDrill } from '../perf/drill/postgres-restart.js';
import { sigtermDrill } from '../perf/drill/sigterm.js';

// The drills that take under a minute, run against the production builds (`npm test` runs
// `tsc -b` first). Each drill checks its own outcome; a failure shows what it saw.
const quiet = { log: () => undefined };
const expectPassed = (result: DrillResult) =>
  expect(result.failures, `${result.name}:\n${result.lines.join('\n')}`).toEqual([]);

describe('fault drills', () => {
  beforeAll(() => assertBuilt());
  afterAll(() => stopAllServers());

  it('when the API gets SIGTERM under load, then no accepted request fails and it exits within 10 s', async () => {
    expectPassed(await sigtermDrill(quiet));
  }, 60_000);

  it('when PostgreSQL restarts under write load, then 503 while down, recovery within 5 s, and every acknowledged write is stored', async () => {
    expectPassed(await postgresRestartDrill(quiet));
  }, 60_000);

  it('when 200 requests meet a pool of 10 on a locked table, then each succeeds or gets 503 in time and none hangs', async () => {
    expectPassed(await poolExhaustionDrill(quiet));
  }, 60_000);

  it('when a goal changes through one API instance, then the other lists the change within 1 s and its ETags follow', async () => {
    expectPassed(await cacheCoherenceDrill(quiet));
  }, 60_000);

  it('when one of two API instances behind the load balancer dies, then every request through the web tier still succeeds', async () => {
    // The ALB's check path and thresholds, at a 5 s interval instead of 30 s so the drill
    // fits in a minute; `npm run drill` runs it at the ALB's own interval.
    expectPassed(
      await instanceLossDrill({ ...quiet, healthCheck: { ...ALB_HEALTH_CHECK, intervalS: 5 } }),
    );
  }, 90_000);
});
