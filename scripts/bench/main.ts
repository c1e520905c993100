/**
 * `npm run bench`: one run measures the production builds of the API and the web tier on
 * this machine against a throwaway PostgreSQL 15, next to the database's own ceiling for
 * the same statements (pgbench), and prints and saves the figures.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { megabytes, MemorySampler, readCpuMs, readTreeCpuMs } from './lib/memory.js';
import { formatLoad, machineInfo, snapshot } from './lib/machine.js';
import { runPgbench } from './lib/pgbench.js';
import {
  maxGoalId,
  postmasterPid,
  seedGoals,
  startBenchDatabase,
  withClient,
} from './lib/postgres.js';
import { checkTarget, scenarioTable, targetTable, type ScenarioRow } from './lib/report.js';
import { REPO_ROOT, stopAllServers, type ServerProcess } from './lib/server.js';
import { buildAll, imageNodeArgs, startApi, startWeb } from './lib/stack.js';
import { requireTool } from './lib/tools.js';
import { runWrk, type LoadRequest } from './lib/wrk.js';
import { BENCH_INSERT_SQL, BENCH_LIST_SQL } from './lib/statements.js';

const USAGE = `Usage: npm run bench -- [options]
  --synchronous-commit on|off   PostgreSQL synchronous_commit (env BENCH_SYNCHRONOUS_COMMIT; default on)
  --connections N               HTTP connections and pgbench clients (default 32)
  --duration S                  seconds measured per scenario (default 10)
  --warmup S                    seconds of unmeasured load before each (default 3)
  --goals N                     goals seeded for the main runs (default 100000)
  --pool-max N                  DB_POOL_MAX for the API (default: the API's own default)
  --log-level L                 LOG_LEVEL for both servers (default warn)
  --api-node-args="A B"         node flags for the API (default: those of apps/api/Dockerfile's CMD)
  --protocol P                  pgbench protocol for the ceiling: prepared|extended|simple (default prepared)
  --no-build                    skip \`tsc -b\`
  --json-only                   print only the JSON`;

function parseOptions() {
  try {
    return parseArgs({
      options: {
        'synchronous-commit': {
          type: 'string',
          default: process.env.BENCH_SYNCHRONOUS_COMMIT ?? 'on',
        },
        connections: { type: 'string', default: '32' },
        duration: { type: 'string', default: '10' },
        warmup: { type: 'string', default: '3' },
        goals: { type: 'string', default: '100000' },
        'pool-max': { type: 'string' },
        'log-level': { type: 'string', default: 'warn' },
        'api-node-args': { type: 'string' },
        protocol: { type: 'string', default: 'prepared' },
        'no-build': { type: 'boolean', default: false },
        'json-only': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
}
const args = parseOptions();

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

const positive = (name: string, raw: string | undefined): number => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    fail(`--${name} must be a positive integer, got ${raw}`);
  return value;
};
const connections = positive('connections', args.connections);
const durationS = positive('duration', args.duration);
const warmupS = positive('warmup', args.warmup);
const goals = positive('goals', args.goals);
const protocol = args.protocol as 'prepared' | 'extended' | 'simple';
if (!['prepared', 'extended', 'simple'].includes(protocol)) fail(`--protocol: ${protocol}?`);
const synchronousCommit = args['synchronous-commit'];
if (!['on', 'off', 'local', 'remote_write', 'remote_apply'].includes(synchronousCommit)) {
  fail(`--synchronous-commit must be on or off, got ${synchronousCommit}`);
}
const log = args['json-only'] ? () => undefined : (line: string) => console.log(line);

const apiEnv: Record<string, string> = { LOG_LEVEL: args['log-level'] };
if (args['pool-max']) apiEnv.DB_POOL_MAX = String(positive('pool-max', args['pool-max']));
const apiNodeArgs = args['api-node-args']?.split(' ').filter(Boolean) ?? imageNodeArgs('api');

async function main(): Promise<void> {
  requireTool('wrk');
  requireTool('pgbench');
  const startedAt = new Date();
  const machine = machineInfo();
  log(`bench: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}`);
  log(`bench: ${formatLoad(snapshot())} at start; other work on the machine skews every figure`);
  if (!args['no-build']) {
    log('bench: building (tsc -b)');
    await buildAll();
  }

  const database = await startBenchDatabase({ synchronousCommit });
  const rows: ScenarioRow[] = [];
  let api: ServerProcess | undefined;
  let web: ServerProcess | undefined;
  try {
    log(
      `bench: PostgreSQL 15 on port ${database.server.port}, synchronous_commit=${synchronousCommit}`,
    );
    api = await startApi(database, { env: apiEnv, nodeArgs: apiNodeArgs });
    const firstBootMs = api.startToReadyMs;
    log(
      `bench: API ready in ${firstBootMs.toFixed(0)} ms on an empty database (migrations included)`,
    );

    const http = async (
      id: string,
      label: string,
      server: ServerProcess,
      request: LoadRequest,
    ): Promise<ScenarioRow> => {
      const memory = new MemorySampler(server.pid, 100);
      await runWrk({ baseUrl: server.url, request, connections, durationS: warmupS });
      const cpuBefore = readCpuMs(server.pid) ?? 0;
      const databaseBefore = readTreeCpuMs(postmasterPid(database));
      const result = await runWrk({ baseUrl: server.url, request, connections, durationS });
      const perRequest = (ms: number) => (ms * 1000) / Math.max(1, result.requests);
      memory.stop();
      const row: ScenarioRow = {
        id,
        label,
        result,
        peakRssMb: megabytes(memory.peakRss),
        serverCpuUs: perRequest((readCpuMs(server.pid) ?? 0) - cpuBefore),
        databaseCpuUs: perRequest(readTreeCpuMs(postmasterPid(database)) - databaseBefore),
        load: formatLoad(snapshot()),
      };
      rows.push(row);
      log(
        `  ${label}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, errors ${result.errors}`,
      );
      return row;
    };
    const ceiling = async (id: string, label: string, script: string): Promise<ScenarioRow> => {
      const options = { url: database.url, script, clients: connections, protocol };
      await runPgbench({ ...options, durationS: warmupS });
      const databaseBefore = readTreeCpuMs(postmasterPid(database));
      const result = await runPgbench({ ...options, durationS });
      const databaseCpuUs =
        ((readTreeCpuMs(postmasterPid(database)) - databaseBefore) * 1000) /
        Math.max(1, result.requests);
      const row: ScenarioRow = { id, label, result, databaseCpuUs, load: formatLoad(snapshot()) };
      rows.push(row);
      log(`  ${label}: ${result.rps.toFixed(0)} tps, p99 ${result.p99Ms.toFixed(2)} ms`);
      return row;
    };
    const checkpoint = () => withClient(database.url, (client) => client.query('CHECKPOINT'));
    const list: LoadRequest = { path: '/goals?limit=20' };

    log('bench: scale baseline, 100 goals');
    await seedGoals(database.url, 100);
    const small = await http('api-list-100', 'API GET /goals (100 goals)', api, list);

    log(`bench: seeding ${goals} goals`);
    await seedGoals(database.url, goals);
    const restarts: number[] = [];
    const restartCpu: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      await api.stop('SIGTERM');
      api = await startApi(database, { env: apiEnv, nodeArgs: apiNodeArgs });
      restarts.push(api.startToReadyMs);
      restartCpu.push(api.startCpuMs);
    }
    log(
      `bench: API restart to ready: ${restarts.map((ms) => ms.toFixed(0)).join(', ')} ms ` +
        `(CPU used: ${restartCpu.map((ms) => ms.toFixed(0)).join(', ')} ms)`,
    );
    const maxId = await maxGoalId(database.url);

    log(`bench: load, ${connections} connections, ${warmupS} s warm-up + ${durationS} s each`);
    const selectCeiling = await ceiling('pg-select', 'pgbench list SELECT', BENCH_LIST_SQL);
    const listRow = await http('api-list', 'API GET /goals?limit=20', api, list);
    await http('api-get', 'API GET /goals/{id}', api, {
      path: '/goals/1',
      pathLua: `'/goals/' .. math.random(1, ${maxId})`,
    });
    await http('api-update', 'API PATCH /goals/{id}', api, {
      method: 'PATCH',
      path: '/goals/1',
      pathLua: `'/goals/' .. math.random(1, ${maxId})`,
      bodyLua: `'{"done":' .. (n % 2 == 0 and 'true' or 'false') .. '}'`,
    });
    await checkpoint();
    const insertCeiling = await ceiling(
      'pg-insert',
      'pgbench INSERT … RETURNING',
      BENCH_INSERT_SQL,
    );
    await checkpoint();
    const createRow = await http('api-create', 'API POST /goals', api, {
      method: 'POST',
      path: '/goals',
      bodyLua: `'{"name":"Bench goal ' .. n .. '"}'`,
    });
    listRow.ceiling = selectCeiling.id;
    listRow.fractionOfCeiling = listRow.result.rps / selectCeiling.result.rps;
    createRow.ceiling = insertCeiling.id;
    createRow.fractionOfCeiling = createRow.result.rps / insertCeiling.result.rps;

    web = await startWeb(api.url, { env: { LOG_LEVEL: args['log-level'] } });
    log(`bench: web ready in ${web.startToReadyMs.toFixed(0)} ms`);
    const page = await http('web-page', 'web GET /', web, { path: '/' });
    await http('web-api-list', 'web GET /api/goals?limit=20', web, { path: '/api/goals?limit=20' });

    api.memory.stop();
    web.memory.stop();
    const apiPeakMb = megabytes(api.memory.highWater);
    const webPeakMb = megabytes(web.memory.highWater);
    const restartMs = Math.max(...restarts);
    const scaleRatio = listRow.result.p99Ms / small.result.p99Ms;
    const apiReadP99 = Math.max(
      listRow.result.p99Ms,
      ...rows.filter((row) => row.id === 'api-get').map((row) => row.result.p99Ms),
    );
    const targets = [
      checkTarget('GET /goals / SELECT ceiling', listRow.fractionOfCeiling, '>=', 0.66),
      checkTarget('POST /goals / INSERT ceiling', createRow.fractionOfCeiling, '>=', 0.45),
      checkTarget('API read p99 (list, by id)', apiReadP99, '<=', 15, ' ms'),
      checkTarget('API peak RSS (VmHWM)', apiPeakMb, '<=', 100, ' MB'),
      checkTarget('API start to ready (restart, worst of 3)', restartMs, '<=', 1000, ' ms'),
      checkTarget(`GET /goals p99 ${goals} vs 100 goals`, scaleRatio, '<=', 1.5, '×'),
      checkTarget('web GET / throughput', page.result.rps, '>=', 3000, ' req/s'),
      checkTarget(
        'errors in every run',
        rows.reduce((sum, row) => sum + row.result.errors, 0),
        '<=',
        0,
      ),
    ];

    const report = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { ...machine, loadAtEnd: snapshot() },
      config: {
        connections,
        durationS,
        warmupS,
        goals,
        synchronousCommit,
        pgbenchProtocol: protocol,
        apiEnv,
        apiNodeArgs,
        postgresSettings: database.settings,
        loadGenerator: 'wrk (1 thread)',
      },
      startToReadyMs: {
        firstBootOnEmptyDatabase: firstBootMs,
        restarts,
        restartCpuMs: restartCpu,
        web: web.startToReadyMs,
      },
      memoryMb: { apiPeak: apiPeakMb, webPeak: webPeakMb },
      scale: { p99At100: small.result.p99Ms, p99AtGoals: listRow.result.p99Ms, ratio: scaleRatio },
      scenarios: rows,
      targets,
    };
    const dir = join(REPO_ROOT, 'bench/results');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);

    if (args['json-only']) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      log('');
      log(scenarioTable(rows));
      log('');
      log(
        `start to ready: first boot ${firstBootMs.toFixed(0)} ms (empty database), ` +
          `restarts ${restarts.map((ms) => ms.toFixed(0)).join('/')} ms ` +
          `(CPU ${restartCpu.map((ms) => ms.toFixed(0)).join('/')} ms); web ${web.startToReadyMs.toFixed(0)} ms`,
      );
      log(`peak RSS (VmHWM): API ${apiPeakMb} MB, web ${webPeakMb} MB`);
      log(
        `scale: GET /goals p99 ${small.result.p99Ms.toFixed(2)} ms at 100 goals, ` +
          `${listRow.result.p99Ms.toFixed(2)} ms at ${goals} (${scaleRatio.toFixed(2)}×)`,
      );
      log('');
      log(targetTable(targets));
      log(`\nsaved ${file}`);
    }
  } finally {
    await web?.stop();
    await api?.stop();
    await stopAllServers();
    await database.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
