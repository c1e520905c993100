import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { megabytes, MemorySampler } from '../harness/memory.js';
import { formatLoad, snapshot } from '../harness/machine.js';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { runWrk, type LoadRequest } from '../harness/wrk.js';
import { runDrill, type DrillOptions, type DrillResult } from '../harness/drill.js';

export interface SoakDrillOptions extends DrillOptions {
  /** Requests per second; half the GET /goals capacity from the latest bench run by default. */
  rate?: number;
  durationS?: number;
  warmupS?: number;
  connections?: number;
}

const MAX_GROWTH = 0.1;

/** Half the GET /goals req/s of the newest `npm run bench` result, or undefined. */
export async function halfMeasuredGetCapacity(): Promise<number | undefined> {
  const dir = join(REPOSITORY_ROOT, 'bench/results');
  const files = (await readdir(dir).catch(() => [] as string[]))
    .filter((file) => file.endsWith('.json'))
    .sort();
  const newest = files.at(-1);
  if (!newest) return undefined;
  const report = JSON.parse(await readFile(join(dir, newest), 'utf8')) as {
    scenarios?: { id: string; result: { rps: number } }[];
  };
  const list = report.scenarios?.find((scenario) => scenario.id === 'api-list');
  return list ? Math.round(list.result.rps / 2) : undefined;
}

const mean = (values: number[]) =>
  values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

/**
 * Five minutes of GET /goals (one request in a hundred a POST, so writes and any cache
 * invalidation keep happening) at half the measured capacity, paced by wrk. Zero errors, and
 * resident memory at the end within 10 % of what it was once warm.
 */
export async function soakDrill(options: SoakDrillOptions = {}): Promise<DrillResult> {
  const rate = options.rate ?? (await halfMeasuredGetCapacity());
  const durationS = options.durationS ?? 300;
  const warmupS = options.warmupS ?? 20;
  const connections = options.connections ?? 32;
  return runDrill('soak', options, async ({ drill, startApi, signUp }) => {
    if (!rate) {
      drill.check(false, 'a rate to soak at: run `npm run bench` first, or pass --rate');
      return;
    }
    const api = await startApi();
    const accounts = await signUp(api, { count: 8, goals: 1000 });
    const request = (delayMs: number): LoadRequest => ({
      path: '/goals?limit=20',
      tokens: accounts.map((account) => account.token),
      requestLua: `if n % 100 == 0 then
    return wrk.format('POST', '/goals', headers, '{"name":"Soak goal ' .. n .. '"}')
  end
  return wrk.format('GET', '/goals?limit=20', headers, nil)`,
      delayMs,
    });
    // Each connection sends, waits for the answer, then waits `delay`: calibrate the delay
    // during the warm-up so that the measured rate lands on the target.
    const period = (connections * 1000) / rate;
    const warm = await runWrk({
      baseUrl: api.url,
      request: request(period),
      connections,
      durationS: warmupS,
    });
    const perRequestMs = (connections * 1000) / warm.rps - period;
    const delayMs = Math.max(0, period - Math.max(0, perRequestMs));
    drill.note(
      `target ${rate} req/s; warm-up gave ${warm.rps.toFixed(0)} req/s, so each of ${connections} ` +
        `connections waits ${delayMs.toFixed(2)} ms between requests; ${formatLoad(snapshot())}`,
    );

    const memory = new MemorySampler(api.pid, 1000, true);
    const soak = await runWrk({
      baseUrl: api.url,
      request: request(delayMs),
      connections,
      durationS,
      timeoutS: 5,
    });
    memory.stop();
    await api.stop();
    const firstWindow = memory.samples.filter(
      (sample) => sample.at - (memory.samples[0]?.at ?? 0) <= 10_000,
    );
    const lastAt = memory.samples.at(-1)?.at ?? 0;
    const lastWindow = memory.samples.filter((sample) => lastAt - sample.at <= 10_000);
    const baseline = mean(firstWindow.map((sample) => sample.rss));
    const final = mean(lastWindow.map((sample) => sample.rss));
    const growth = final / baseline - 1;
    drill.note(
      `${soak.requests} requests in ${soak.durationS.toFixed(0)} s = ${soak.rps.toFixed(0)} req/s, ` +
        `p50 ${soak.p50Ms.toFixed(2)} ms, p99 ${soak.p99Ms.toFixed(2)} ms, errors ${soak.errors} ${JSON.stringify(soak.errorDetail)}`,
    );
    drill.note(
      `RSS ${megabytes(baseline)} MB in the first 10 s, ${megabytes(final)} MB in the last 10 s ` +
        `(${(growth * 100).toFixed(1)} %), peak ${megabytes(memory.peakRss)} MB; ${formatLoad(snapshot())}`,
    );
    drill.fact('rate', soak.rps);
    drill.fact('requests', soak.requests);
    drill.fact('errors', soak.errors);
    drill.fact('rssStartMb', megabytes(baseline));
    drill.fact('rssEndMb', megabytes(final));
    drill.fact('growthPercent', growth * 100);
    drill.check(
      soak.rps >= rate * 0.8,
      `the soak ran near its target rate (${soak.rps.toFixed(0)} of ${rate} req/s)`,
    );
    drill.check(soak.errors === 0, `zero errors (${soak.errors})`);
    drill.check(growth < MAX_GROWTH, `memory grew less than 10 % (${(growth * 100).toFixed(1)} %)`);
  });
}
