/**
 * `npm run bench -- --workers 1,2`: the API with each number of server processes (WORKERS)
 * under the same load, to show what node:cluster buys: throughput, and the share of the
 * machine's CPU the API's processes use (the figure the 70 % scale-out alarm sees), with the
 * RSS of each process. One process can use one core at most: on 2 cores, 50 %.
 */
import { cpus } from 'node:os';
import { accountIds, signUpAccounts } from '../harness/accounts.js';
import { formatLoad, snapshot } from '../harness/machine.js';
import {
  childPids,
  megabytes,
  MemorySampler,
  readCpuMs,
  readMachineCpuMs,
  readTreeCpuMs,
} from '../harness/memory.js';
import { postmasterPid, seedGoals, type BenchDatabase } from '../harness/postgres.js';
import type { ServerProcess } from '../harness/server.js';
import { startApi } from '../harness/stack.js';
import { runWrk, type LoadRequest, type LoadResult } from '../harness/wrk.js';

export interface WorkersBenchOptions {
  database: BenchDatabase;
  workerCounts: readonly number[];
  connections: number;
  durationS: number;
  warmupS: number;
  accounts: number;
  apiEnv: Record<string, string>;
  apiNodeArgs: string[];
  log: (line: string) => void;
}

export interface ProcessFigures {
  role: 'single' | 'primary' | 'worker';
  pid: number;
  /** Share of one core this process used during the measured run. */
  coreShare: number;
  rssMb: number;
  peakRssMb: number;
  /** Private memory (RssAnon) at the end: the file pages of RSS are shared by the processes. */
  privateMb: number;
}

export interface WorkersRow {
  workers: number;
  scenario: string;
  result: LoadResult;
  /** The API's processes' CPU time / wall time / cores: its share of the whole machine. */
  apiMachineShare: number;
  /** PostgreSQL's (postmaster and backends) share of the machine. */
  databaseMachineShare: number;
  /** Everything's: the API, PostgreSQL, wrk and whatever else ran (other people's work). */
  machineBusyShare: number;
  apiCpuUsPerRequest: number;
  processes: ProcessFigures[];
  load: string;
}

/** Waits until the primary has forked its workers (/ready answered once one was ready). */
async function workerPids(api: ServerProcess, workers: number): Promise<number[]> {
  if (workers === 1) return [];
  const deadline = Date.now() + 30_000;
  for (;;) {
    const pids = childPids(api.pid);
    if (pids.length >= workers) return pids;
    if (Date.now() > deadline)
      throw new Error(`the API forked ${pids.length} of ${workers} workers`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs the load against `api` and reads every API process's CPU and memory around it. */
async function measure(
  api: ServerProcess,
  workers: number,
  scenario: string,
  request: LoadRequest,
  options: WorkersBenchOptions,
  database: BenchDatabase,
): Promise<WorkersRow> {
  const pids = [api.pid, ...(await workerPids(api, workers))];
  const load = { baseUrl: api.url, request, connections: options.connections, timeoutS: 2 };
  await runWrk({ ...load, durationS: options.warmupS });
  const samplers = pids.map((pid) => new MemorySampler(pid, 100));
  const cpuBefore = pids.map((pid) => readCpuMs(pid) ?? 0);
  const databaseBefore = readTreeCpuMs(postmasterPid(database));
  const machineBefore = readMachineCpuMs();
  const started = performance.now();
  const result = await runWrk({ ...load, durationS: options.durationS });
  const wallMs = performance.now() - started;
  const machineAfter = readMachineCpuMs();
  const cpuUsed = pids.map((pid, i) => (readCpuMs(pid) ?? 0) - (cpuBefore[i] ?? 0));
  const databaseMs = readTreeCpuMs(postmasterPid(database)) - databaseBefore;
  samplers.forEach((sampler) => sampler.stop());
  const cores = cpus().length;
  const apiMs = cpuUsed.reduce((sum, ms) => sum + ms, 0);
  return {
    workers,
    scenario,
    result,
    apiMachineShare: apiMs / wallMs / cores,
    databaseMachineShare: databaseMs / wallMs / cores,
    machineBusyShare:
      (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total),
    apiCpuUsPerRequest: (apiMs * 1000) / Math.max(1, result.requests),
    processes: pids.map((pid, i) => ({
      role: workers === 1 ? 'single' : i === 0 ? 'primary' : 'worker',
      pid,
      coreShare: (cpuUsed[i] ?? 0) / wallMs,
      rssMb: megabytes(samplers[i]?.last?.rss ?? 0),
      peakRssMb: megabytes(samplers[i]?.peakRss ?? 0),
      privateMb: megabytes(samplers[i]?.last?.private ?? 0),
    })),
    load: formatLoad(snapshot()),
  };
}

export async function benchWorkers(options: WorkersBenchOptions): Promise<WorkersRow[]> {
  const { database, log } = options;
  const rows: WorkersRow[] = [];
  let tokens: string[] = [];
  for (const workers of options.workerCounts) {
    const api = await startApi(database, {
      name: `api-workers-${workers}`,
      // The goal-write limit stays on, at a rate no load reaches: with WORKERS above 1 each
      // write asks the primary, and that round trip belongs in the figures.
      env: { ...options.apiEnv, WORKERS: String(workers), GOAL_WRITES_PER_MINUTE: '1000000' },
      nodeArgs: options.apiNodeArgs,
    });
    try {
      if (tokens.length === 0) {
        const accounts = await signUpAccounts(api.url, options.accounts, 'bench-workers');
        await seedGoals(database.url, accountIds(accounts), 25 * options.accounts);
        tokens = accounts.map((account) => account.token);
      }
      log(`bench: WORKERS=${workers}, ${options.connections} connections`);
      const scenarios: [string, LoadRequest][] = [
        ['GET /goals?limit=20', { path: '/goals?limit=20', tokens }],
        [
          'POST /goals',
          {
            method: 'POST',
            path: '/goals',
            bodyLua: `'{"name":"Bench goal ' .. n .. '"}'`,
            tokens,
          },
        ],
      ];
      for (const [scenario, request] of scenarios) {
        const row = await measure(api, workers, scenario, request, options, database);
        rows.push(row);
        log(
          `  ${scenario}: ${row.result.rps.toFixed(0)} req/s, API ${percent(row.apiMachineShare)} ` +
            `of the machine (${cpus().length} cores), PostgreSQL ${percent(row.databaseMachineShare)}, ` +
            `machine busy ${percent(row.machineBusyShare)}, errors ${row.result.errors}`,
        );
      }
    } finally {
      await api.stop('SIGTERM');
    }
  }
  return rows;
}

const percent = (share: number) => `${(share * 100).toFixed(0)} %`;

/** The comparison as a Markdown table, one row per WORKERS and scenario. */
export function workersTable(rows: readonly WorkersRow[]): string {
  const lines = [
    '| WORKERS | scenario | req/s | p99 ms | errors | API share of machine | PostgreSQL | machine busy | API µs/req | RSS MB per process (peak; private) |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const row of rows) {
    const memory = row.processes
      .map(
        (process) =>
          `${process.role} ${process.rssMb} (${process.peakRssMb}; ${process.privateMb})`,
      )
      .join(', ');
    lines.push(
      `| ${row.workers} | ${row.scenario} | ${row.result.rps.toFixed(0)} | ${row.result.p99Ms.toFixed(2)} | ` +
        `${row.result.errors} | ${percent(row.apiMachineShare)} | ${percent(row.databaseMachineShare)} | ` +
        `${percent(row.machineBusyShare)} | ${row.apiCpuUsPerRequest.toFixed(0)} | ${memory} |`,
    );
  }
  return lines.join('\n');
}
