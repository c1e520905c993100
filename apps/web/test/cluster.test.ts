import { request } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { EMPTY_PAGE, json, startFakeApi } from './support/fake-api.js';
import { logLines, waitUntil as until } from '@goal-tracker/test-support/process';
import { startTier, type ServerProcess } from './support/processes.js';
import { ensureClientBuilt } from './support/web.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** The web tier with WORKERS=2: a primary and two workers sharing the port. */
async function startCluster(apiUrl: string): Promise<ServerProcess> {
  ensureClientBuilt();
  const web = await startTier('apps/web/src/main.ts', {
    env: { API_URL: apiUrl, WORKERS: '2', LOG_LEVEL: 'info' },
    readyPath: '/health',
  });
  cleanups.push(() => web.stop('SIGKILL'));
  await until(() => logLines(web, 'worker ready').length === 2, web);
  return web;
}

/** GET on a connection of its own, so the primary hands it to the next worker in turn. */
function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('WORKERS=2', { timeout: 120_000 }, () => {
  test('when SIGTERM arrives mid-request, then the request finishes and the primary exits 0 within 10 s', async () => {
    const upstream = await startFakeApi((_request, response) => {
      setTimeout(() => json(response, 200, EMPTY_PAGE), 1_000);
    });
    cleanups.push(() => upstream.close());
    const web = await startCluster(upstream.url);

    const inFlight = fetch(`${web.url}/api/goals`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    const exited = web.stop('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(EMPTY_PAGE);
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(logLines(web, 'stopped')).toHaveLength(3);
  });

  test('when a worker is killed, then the other keeps answering and a new worker takes its place', async () => {
    const web = await startCluster('http://127.0.0.1:9');
    const [victim, survivor] = logLines(web, 'worker started').map(
      (line) => line.workerPid as number,
    );
    process.kill(victim as number, 'SIGKILL');
    await until(() => logLines(web, 'worker exited unexpectedly').length === 1, web);
    for (let i = 0; i < 5; i += 1) expect(await status(`${web.url}/health`)).toBe(200);
    await until(() => logLines(web, 'worker ready').length === 3, web);
    const replacement = logLines(web, 'worker started')[2]?.workerPid;
    expect([victim, survivor]).not.toContain(replacement);
    for (let i = 0; i < 5; i += 1) expect(await status(`${web.url}/health`)).toBe(200);
    expect(web.isRunning()).toBe(true);
  });
});
