import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { bearer, sessionCookie, type SignedIn } from '../harness/accounts.js';
import { ALB_IDLE_TIMEOUT_S } from '../harness/haproxy.js';
import { startWeb } from '../harness/stack.js';
import { runDrill, sleep, type DrillOptions, type DrillResult } from '../harness/drill.js';

export interface IdleKeepAliveDrillOptions extends DrillOptions {
  /** Idle time between the two rounds; must exceed the ALB's 60 s idle timeout. */
  idleMs?: number;
  connections?: number;
}

interface Round {
  statuses: (number | string)[];
  reused: boolean[];
}

interface Target {
  url: string;
  headers: Record<string, string>;
  agent: Agent;
  sockets: Set<Socket>;
}

/** Sends `count` requests at once on the target's agent, so each takes its own socket. */
function round({ url, headers, agent, sockets }: Target, count: number): Promise<Round> {
  const one = () =>
    new Promise<{ status: number | string; reused: boolean }>((resolve) => {
      const req = request(url, { agent, headers, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        // The page answers 200 with an "unavailable" block when its API call failed.
        res.on('end', () =>
          resolve({
            status: body.includes('id="unavailable"')
              ? 'page saying unavailable'
              : (res.statusCode ?? 0),
            reused: req.reusedSocket,
          }),
        );
        res.on('error', (error: NodeJS.ErrnoException) =>
          resolve({ status: error.code ?? 'error', reused: req.reusedSocket }),
        );
      });
      req.on('socket', (socket) => sockets.add(socket));
      req.on('timeout', () => req.destroy(new Error('TIMEOUT')));
      req.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ status: error.code ?? error.message, reused: req.reusedSocket }),
      );
      req.end();
    });
  return Promise.all(Array.from({ length: count }, one)).then((answers) => ({
    statuses: answers.map((answer) => answer.status),
    reused: answers.map((answer) => answer.reused),
  }));
}

/**
 * The case behind ALB 502s: the load balancer keeps connections to its targets open up to
 * its 60 s idle timeout and reuses them. A target that closes an idle connection sooner
 * races the ALB's next request on it. Connections to the API and to the web tier are held
 * idle for 65 s, then reused: the servers must not have closed any, and every reused
 * request must succeed. The web tier's own pooled connections to the API idle just as long.
 */
export async function idleKeepAliveDrill(
  options: IdleKeepAliveDrillOptions = {},
): Promise<DrillResult> {
  const idleMs = options.idleMs ?? (ALB_IDLE_TIMEOUT_S + 5) * 1000;
  const count = options.connections ?? 8;
  const agents: Agent[] = [];
  return runDrill(
    'idle-keep-alive',
    options,
    async ({ drill, startApi, signUp }) => {
      const api = await startApi();
      const web = await startWeb(api.url);
      const [account] = await signUp(api, { count: 1, goals: 20 });
      const signedIn = account as SignedIn;
      const targets = [
        { label: 'API GET /goals', url: `${api.url}/goals?limit=20`, headers: bearer(signedIn) },
        { label: 'web GET /', url: `${web.url}/`, headers: sessionCookie(signedIn) },
        {
          label: 'web GET /api/goals',
          url: `${web.url}/api/goals?limit=20`,
          headers: bearer(signedIn),
        },
      ].map((target) => {
        const agent = new Agent({ keepAlive: true, maxSockets: count, maxFreeSockets: count });
        agents.push(agent);
        const sockets = new Set<Socket>();
        const closedEarly: number[] = [];
        return { ...target, agent, sockets, closedEarly };
      });

      for (const target of targets) {
        const first = await round(target, count);
        drill.note(
          `${target.label}: ${target.sockets.size} connections opened, answers ${first.statuses.join(' ')}`,
        );
      }
      const idleFrom = performance.now();
      for (const target of targets) {
        for (const socket of target.sockets) {
          socket.on('close', () => {
            if (performance.now() - idleFrom < idleMs)
              target.closedEarly.push(performance.now() - idleFrom);
          });
        }
      }
      drill.note(`holding every connection idle for ${(idleMs / 1000).toFixed(0)} s`);
      await sleep(idleMs);

      for (const target of targets) {
        const second = await round(target, count);
        const reused = second.reused.filter(Boolean).length;
        drill.note(
          `${target.label}: after ${(idleMs / 1000).toFixed(0)} s idle, ${target.closedEarly.length} closed by the server ` +
            `${target.closedEarly.length ? `(first at ${(Math.min(...target.closedEarly) / 1000).toFixed(1)} s)` : ''}, ` +
            `${reused}/${count} reused, answers ${second.statuses.join(' ')}`,
        );
        drill.fact(`${target.label} closedEarly`, target.closedEarly.length);
        drill.check(
          target.closedEarly.length === 0,
          `${target.label}: no idle connection closed by the server within ${(idleMs / 1000).toFixed(0)} s`,
        );
        drill.check(
          reused === count && second.statuses.every((status) => status === 200),
          `${target.label}: every connection reused without a reset (${second.statuses.join(' ')})`,
        );
      }
      await web.stop();
      await api.stop();
    },
    () => Promise.resolve(agents.forEach((agent) => agent.destroy())),
  );
}
