import { request } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { EMPTY_PAGE, json, startFakeApi } from './support/fake-api.js';
import { fromSource, spawnProcess } from '@goal-tracker/test-support/process';
import { startTier, type ServerProcess } from './support/processes.js';
import { ensureClientBuilt } from './support/web.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function startWebProcess(apiUrl: string): Promise<ServerProcess> {
  ensureClientBuilt();
  const web = await startTier('apps/web/src/main.ts', {
    env: { API_URL: apiUrl },
    readyPath: '/health',
  });
  cleanups.push(() => web.stop());
  return web;
}

describe('the web process', () => {
  test('when SIGTERM arrives mid-request, then the request finishes and the process exits 0 within 10 s', async () => {
    const upstream = await startFakeApi((_request, response) => {
      setTimeout(() => json(response, 200, EMPTY_PAGE), 1_000);
    });
    cleanups.push(() => upstream.close());
    const web = await startWebProcess(upstream.url);

    const inFlight = fetch(`${web.url}/api/goals`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    const exitCode = web.stop();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(EMPTY_PAGE);
    expect((await exitCode).code).toBe(0);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  test('when a client keeps its connection open, then the server keeps it alive for 72 s', async () => {
    const web = await startWebProcess('http://127.0.0.1:9');
    const keepAlive = await new Promise<string | undefined>((resolve, reject) => {
      const req = request(
        `${web.url}/health`,
        { agent: false, headers: { connection: 'keep-alive' } },
        (res) => {
          res.resume();
          resolve(String(res.headers['keep-alive']));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(keepAlive).toBe('timeout=72');
  });

  test('when API_URL is not a URL, then the process exits 1 naming the variable', async () => {
    const web = spawnProcess({
      args: fromSource('apps/web/src/main.ts'),
      env: { ...process.env, API_URL: 'not a url', PORT: '0' },
    });
    expect((await web.exited).code).toBe(1);
    expect(web.output()).toContain('API_URL');
  });
});
