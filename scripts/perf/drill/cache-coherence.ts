import { bearer, type SignedIn } from '../harness/accounts.js';
import { createdId, type HttpRequest, send } from '../harness/http-client.js';
import type { ServerProcess } from '../harness/server.js';
import { runDrill, sleep, type DrillOptions, type DrillResult } from '../harness/drill.js';

export interface CacheCoherenceDrillOptions extends DrillOptions {
  /** Writes made on one instance, each then looked for on the other. */
  rounds?: number;
  /** Longest the other instance may keep serving the old list after a write is acknowledged. */
  maxStaleMs?: number;
}

/**
 * Two API instances on one database, as behind the internal ALB. Each round writes through one
 * instance (create, then rename) and polls the other's GET /goals until the change shows: an
 * API that caches lists must drop them on every instance, promptly. When the API sends ETags,
 * an old ETag must no longer match (200 with the new list) and the new one must (304).
 */
export async function cacheCoherenceDrill(
  options: CacheCoherenceDrillOptions = {},
): Promise<DrillResult> {
  const rounds = options.rounds ?? 20;
  const maxStaleMs = options.maxStaleMs ?? 1000;
  return runDrill('cache-coherence', options, async ({ drill, startApi, signUp }) => {
    const first = await startApi({ name: 'api-1' });
    const second = await startApi({ name: 'api-2' });
    const [account] = await signUp(first, { count: 1, goals: 30 });
    const signedIn = account as SignedIn;
    const ask = (server: ServerProcess, request: HttpRequest) =>
      send(server.url, false, { ...request, headers: { ...bearer(signedIn), ...request.headers } });
    drill.note(`two API instances on one database; ${rounds} rounds of write-here, read-there`);

    const list = '/goals?limit=100';
    const staleness: number[] = [];
    const etagProblems: string[] = [];
    let etags = 0;
    for (let round = 0; round < rounds; round += 1) {
      const [writer, reader] = round % 2 === 0 ? [first, second] : [second, first];
      // Warm the reader's cache (if any) with the current list first.
      const before = await ask(reader, { path: list });
      await ask(reader, { path: list });
      const oldEtag = before.headers.etag as string | undefined;
      const created = await ask(writer, {
        method: 'POST',
        path: '/goals',
        body: { name: `coherence ${round}` },
      });
      const id = createdId(created);
      if (id === undefined) {
        drill.check(false, `round ${round}: the write failed (${created.status} ${created.body})`);
        break;
      }
      const renamed = await ask(writer, {
        method: 'PATCH',
        path: `/goals/${id}`,
        body: { name: `coherence ${round} renamed` },
      });
      const acknowledgedAt = performance.now();
      const expected = `"name":"coherence ${round} renamed"`;
      let seenAfter = Number.POSITIVE_INFINITY;
      let latest = before;
      while (performance.now() - acknowledgedAt < maxStaleMs * 3) {
        // Newest first: the goal made this round heads the first page.
        latest = await ask(reader, { path: '/goals?limit=100' });
        const full = await ask(reader, { path: list });
        if (
          renamed.status === 200 &&
          latest.body.includes(expected) &&
          full.body.includes(expected)
        ) {
          seenAfter = performance.now() - acknowledgedAt;
          latest = full;
          break;
        }
        await sleep(2);
      }
      staleness.push(seenAfter);
      const newEtag = latest.headers.etag as string | undefined;
      if (oldEtag !== undefined && newEtag !== undefined) {
        etags += 1;
        const withOld = await ask(reader, {
          path: list,
          headers: { 'if-none-match': oldEtag },
        });
        const withNew = await ask(reader, {
          path: list,
          headers: { 'if-none-match': newEtag },
        });
        if (oldEtag === newEtag) etagProblems.push(`round ${round}: the ETag did not change`);
        if (withOld.status !== 200 || !withOld.body.includes(expected)) {
          etagProblems.push(`round ${round}: the old ETag got ${withOld.status}`);
        }
        if (withNew.status !== 304 || withNew.body !== '') {
          etagProblems.push(`round ${round}: the current ETag got ${withNew.status}`);
        }
      }
    }
    await first.stop();
    await second.stop();

    const worst = Math.max(...staleness);
    const sorted = [...staleness].sort((a, b) => a - b);
    drill.note(
      `the other instance showed each change after: median ${(sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(1)} ms, ` +
        `worst ${worst.toFixed(1)} ms`,
    );
    drill.note(
      etags
        ? `ETags checked in ${etags} rounds`
        : 'the API sends no ETag on GET /goals (nothing to check)',
    );
    drill.fact('worstStaleMs', worst);
    drill.fact('etagRounds', etags);
    drill.check(
      staleness.length === rounds && worst <= maxStaleMs,
      `every change showed on the other instance within ${maxStaleMs} ms (worst ${worst.toFixed(1)} ms)`,
    );
    drill.check(
      etagProblems.length === 0,
      `ETag and If-None-Match stay correct across instances (${etagProblems.join('; ') || 'no problem'})`,
    );
  });
}
