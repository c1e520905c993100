import type { SignedIn } from '../harness/accounts.js';
import { send } from '../harness/http-client.js';
import { runDrill, type DrillOptions, type DrillResult } from '../harness/drill.js';

export interface SignOutDrillOptions extends DrillOptions {
  rounds?: number;
}

/** How long a round keeps asking the other instance once it still accepted an ended token. */
const WATCH_MS = 2000;

/**
 * Two API instances on one database, each remembering the sessions it has checked. Each round
 * signs in on one instance, uses the token on the other (which then remembers it), signs out
 * on the first, and as soon as that is answered uses the token on the other again. The API
 * promises that an ended session is forgotten on every instance before the sign-out is
 * answered, so that request must get 401. When it does not, the drill keeps asking to
 * measure how long the other instance went on accepting the token.
 */
export async function signOutDrill(options: SignOutDrillOptions = {}): Promise<DrillResult> {
  const rounds = options.rounds ?? 20;
  return runDrill('sign-out', options, async ({ drill, startApi, signUp }) => {
    const first = await startApi({ name: 'api-1' });
    const second = await startApi({ name: 'api-2' });
    const [account] = await signUp(first, { count: 1, goals: 5 });
    const { email, password } = account as SignedIn;
    drill.note(`two API instances on one database; ${rounds} rounds of sign-in, use, sign-out`);

    const problems: string[] = [];
    const stillAccepted: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const [here, there] = round % 2 === 0 ? [first, second] : [second, first];
      const session = await send(here.url, false, {
        method: 'POST',
        path: '/sessions',
        body: { email, password },
      });
      if (session.status !== 201) {
        problems.push(`round ${round}: signing in got ${session.status} ${session.body}`);
        continue;
      }
      const { token } = JSON.parse(session.body) as { token: string };
      const headers = { authorization: `Bearer ${token}` };
      const used = await send(there.url, false, { path: '/goals?limit=1', headers });
      const ended = await send(here.url, false, {
        method: 'DELETE',
        path: '/sessions/current',
        headers,
      });
      const endedAt = performance.now();
      if (used.status !== 200 || ended.status !== 204) {
        problems.push(
          `round ${round}: ${used.status} on the other instance, sign-out ${ended.status}`,
        );
        continue;
      }
      let after = await send(there.url, false, { path: '/goals?limit=1', headers });
      if (after.status === 401) continue;
      while (after.status === 200 && performance.now() - endedAt < WATCH_MS) {
        after = await send(there.url, false, { path: '/goals?limit=1', headers });
      }
      stillAccepted.push(after.status === 401 ? performance.now() - endedAt : Infinity);
    }
    await first.stop();
    await second.stop();

    const worst = Math.max(0, ...stillAccepted);
    drill.note(
      `the other instance accepted the ended token in ${stillAccepted.length} of ${rounds} rounds` +
        (stillAccepted.length ? `, for up to ${worst.toFixed(1)} ms after the sign-out` : ''),
    );
    drill.fact('rounds', rounds);
    drill.fact('acceptedAfterSignOut', stillAccepted.length);
    drill.fact('worstAcceptedForMs', Number.isFinite(worst) ? worst : WATCH_MS);
    drill.check(
      problems.length === 0,
      `every round signed in, used and ended its session (${problems.join('; ') || 'so they did'})`,
    );
    drill.check(
      stillAccepted.length === 0,
      `the other instance refused the ended token in its next request (it did not in ${stillAccepted.length} of ${rounds} rounds)`,
    );
  });
}
