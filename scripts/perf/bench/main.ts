/**
 * `npm run bench`: one run measures the production builds of the API and the web tier on
 * this machine against a throwaway PostgreSQL 15, next to the database's own ceiling for
 * the same statements (pgbench), and prints and saves the figures. Every request is signed
 * in, as a client's is: the bench signs up a few accounts and sends their session tokens.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ABUSE_LIMITS_OFF,
  accountIds,
  describeEnv,
  refusedWrites,
  signUpAccounts,
  timePasswordHash,
  type SignedIn,
} from '../harness/accounts.js';
import { megabytes, MemorySampler, readCpuMs, readTreeCpuMs } from '../harness/memory.js';
import {
  formatLoad,
  machineInfo,
  snapshot,
  type MachineInfo,
  type MachineSnapshot,
} from '../harness/machine.js';
import { runPgbench } from '../harness/pgbench.js';
import {
  maxGoalId,
  postmasterPid,
  seedGoals,
  sessionLookups,
  startBenchDatabase,
} from '../harness/postgres.js';
import { withClient } from '@goal-tracker/test-support/with-client';
import { checkTarget, scenarioTable, targetTable, type ScenarioRow } from '../harness/report.js';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { stopAllServers, type ServerProcess } from '../harness/server.js';
import {
  buildAll,
  imageNodeArgs,
  nodeReleaseWarning,
  startApi,
  startWeb,
} from '../harness/stack.js';
import { requireTool } from '../harness/tools.js';
import { luaString, runWrk, type LoadRequest } from '../harness/wrk.js';
import { benchInsertSql, benchListSql } from '../harness/statements.js';
import { benchWorkers, workersTable } from './workers.js';

const USAGE = `Usage: npm run bench -- [options]
  --synchronous-commit on|off   PostgreSQL synchronous_commit (env BENCH_SYNCHRONOUS_COMMIT; default on)
  --connections N               HTTP connections and pgbench clients (default 32)
  --duration S                  seconds measured per scenario (default 10)
  --warmup S                    seconds of unmeasured load before each (default 3)
  --goals N                     goals seeded for the main runs, spread over the accounts (default 100000)
  --accounts N                  accounts signed up; requests take their tokens in turn (default 4)
  --signin-connections N        connections for the sign-in run, each sign-in a password hash (default 8)
  --pool-max N                  DB_POOL_MAX for the API (default: the API's own default)
  --log-level L                 LOG_LEVEL for both servers (default warn)
  --api-node-args="A B"         node flags for the API (default: those of the Dockerfile's api CMD)
  --protocol P                  pgbench protocol for the ceiling: prepared|extended|simple (default prepared)
  --workers 1,2                 instead of the scenarios: the API with each WORKERS in turn (GET
                                /goals and POST /goals), its throughput, its share of the
                                machine's CPU and each process's RSS (about a minute)
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
        accounts: { type: 'string', default: '4' },
        'signin-connections': { type: 'string', default: '8' },
        'pool-max': { type: 'string' },
        'log-level': { type: 'string', default: 'warn' },
        'api-node-args': { type: 'string' },
        protocol: { type: 'string', default: 'prepared' },
        workers: { type: 'string' },
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
const accountCount = positive('accounts', args.accounts);
const signInConnections = positive('signin-connections', args['signin-connections']);
const protocol = args.protocol as 'prepared' | 'extended' | 'simple';
if (!['prepared', 'extended', 'simple'].includes(protocol)) fail(`--protocol: ${protocol}?`);
const synchronousCommit = args['synchronous-commit'];
if (!['on', 'off', 'local', 'remote_write', 'remote_apply'].includes(synchronousCommit)) {
  fail(`--synchronous-commit must be on or off, got ${synchronousCommit}`);
}
const log = args['json-only'] ? () => undefined : (line: string) => console.log(line);

const apiEnv: Record<string, string> = { LOG_LEVEL: args['log-level'], ...ABUSE_LIMITS_OFF };
if (args['pool-max']) apiEnv.DB_POOL_MAX = String(positive('pool-max', args['pool-max']));
const apiNodeArgs = args['api-node-args']?.split(' ').filter(Boolean) ?? imageNodeArgs('api');
const workerCounts = args.workers?.split(',').map((count) => positive('workers', count.trim()));

/** Writes the report to bench/results/ (and prints it with --json-only); answers the file. */
async function saveReport(report: object, startedAt: Date, prefix = ''): Promise<string> {
  const dir = join(REPOSITORY_ROOT, 'bench/results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${prefix}${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  if (args['json-only']) console.log(JSON.stringify(report, null, 2));
  return file;
}

function logMachine(machine: MachineInfo, loadAtStart: MachineSnapshot): void {
  log(`bench: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}`);
  const nodeWarning = nodeReleaseWarning();
  if (nodeWarning) log(nodeWarning);
  log(`bench: ${formatLoad(loadAtStart)} at start; other work on the machine skews every figure`);
}

/** The --workers section alone: the API with each WORKERS in turn; table and JSON. */
async function mainWorkers(counts: readonly number[]): Promise<void> {
  requireTool('wrk');
  const startedAt = new Date();
  const machine = machineInfo();
  const loadAtStart = snapshot();
  logMachine(machine, loadAtStart);
  if (!args['no-build']) {
    log('bench: building (tsc -b)');
    await buildAll();
  }
  const database = await startBenchDatabase({ synchronousCommit });
  try {
    const rows = await benchWorkers({
      database,
      workerCounts: counts,
      connections,
      durationS,
      warmupS,
      accounts: accountCount,
      apiEnv,
      apiNodeArgs,
      log,
    });
    const report = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { ...machine, loadAtStart, loadAtEnd: snapshot() },
      config: { connections, durationS, warmupS, accounts: accountCount, apiEnv, apiNodeArgs },
      workers: rows,
    };
    const file = await saveReport(report, startedAt, 'workers-');
    if (!args['json-only']) {
      log('');
      log(workersTable(rows));
      log(`\nsaved ${file}`);
    }
  } finally {
    await stopAllServers();
    await database.dispose();
  }
}

async function main(): Promise<void> {
  requireTool('wrk');
  requireTool('pgbench');
  const startedAt = new Date();
  const machine = machineInfo();
  logMachine(machine, snapshot());
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
    log(
      `bench: abuse limits turned OFF in the API's environment: ${describeEnv(ABUSE_LIMITS_OFF)}`,
    );
    const accounts = await signUpAccounts(api.url, accountCount, 'bench');
    const ids = accountIds(accounts);
    const range = { first: Math.min(...ids), last: Math.max(...ids) };
    if (range.last - range.first + 1 !== ids.length) {
      throw new Error(`the accounts got ids ${ids.join(', ')}: pgbench needs consecutive ones`);
    }
    const tokens = accounts.map((account) => account.token);
    log(
      `bench: signed up ${accountCount} accounts; each request carries the session token of the ` +
        'next in turn (Authorization: Bearer; the web page, the session cookie)',
    );

    /** Requests sent by wrk so far, warm-ups included. */
    let requestsSent = 0;
    const http = async (
      id: string,
      label: string,
      server: ServerProcess,
      request: LoadRequest,
      { clients = connections, timeoutS = 2 } = {},
    ): Promise<ScenarioRow> => {
      const memory = new MemorySampler(server.pid, 100);
      const load = { baseUrl: server.url, request, connections: clients, timeoutS };
      const warm = await runWrk({ ...load, durationS: warmupS });
      const cpuBefore = readCpuMs(server.pid) ?? 0;
      const databaseBefore = readTreeCpuMs(postmasterPid(database));
      const result = await runWrk({ ...load, durationS });
      requestsSent += warm.requests + result.requests;
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
    const list: LoadRequest = { path: '/goals?limit=20', tokens };

    const baseline = 25 * accountCount;
    log(`bench: scale baseline, ${baseline} goals (25 per account)`);
    await seedGoals(database.url, ids, baseline);
    const small = await http('api-list-100', `API GET /goals (${baseline} goals)`, api, list);
    // Goal 1 is the first account's (see seedGoals).
    const refused = await refusedWrites(api.url, accounts[0] as SignedIn, 1);
    log(
      refused.length === 0
        ? 'bench: 500 quick writes to one goal all accepted: the write limit is off'
        : `bench: WARNING: the API refused ${refused.length} of 500 quick writes (first: ${refused[0]}), ` +
            'so it does not apply the limits in its environment; write figures below are not valid',
    );

    log(`bench: seeding ${goals} goals, spread over the accounts`);
    await seedGoals(database.url, ids, goals);
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
    // Every API before this one published its lookups as it exited; this one has made none.
    const lookupsBefore = await sessionLookups(database.url);
    const requestsBefore = requestsSent;

    log(`bench: load, ${connections} connections, ${warmupS} s warm-up + ${durationS} s each`);
    const selectCeiling = await ceiling('pg-select', 'pgbench list SELECT', benchListSql(range));
    const listRow = await http('api-list', 'API GET /goals?limit=20', api, list);
    await http('api-get', 'API GET /goals/{id}', api, {
      path: '/goals/1',
      pathLua: `'/goals/' .. random_goal()`,
      tokens,
      seededGoals: maxId,
    });
    await http('api-update', 'API PATCH /goals/{id}', api, {
      method: 'PATCH',
      path: '/goals/1',
      pathLua: `'/goals/' .. random_goal()`,
      bodyLua: `'{"done":' .. (n % 2 == 0 and 'true' or 'false') .. '}'`,
      tokens,
      seededGoals: maxId,
    });
    await checkpoint();
    const insertCeiling = await ceiling(
      'pg-insert',
      'pgbench INSERT … RETURNING',
      benchInsertSql(range),
    );
    await checkpoint();
    const createRow = await http('api-create', 'API POST /goals', api, {
      method: 'POST',
      path: '/goals',
      bodyLua: `'{"name":"Bench goal ' .. n .. '"}'`,
      tokens,
    });
    listRow.ceiling = selectCeiling.id;
    listRow.fractionOfCeiling = listRow.result.rps / selectCeiling.result.rps;
    createRow.ceiling = insertCeiling.id;
    createRow.fractionOfCeiling = createRow.result.rps / insertCeiling.result.rps;

    // PostgreSQL publishes the API's session lookups as its connections close: stop it to count.
    await api.stop('SIGTERM');
    const goalsLoadPeak = api.memory.highWater;
    const goalsLoadPeakPrivate = api.memory.peakPrivate;
    const lookups = {
      lookups: (await sessionLookups(database.url)) - lookupsBefore,
      requests: requestsSent - requestsBefore,
      perThousand: 0,
    };
    lookups.perThousand = (lookups.lookups * 1000) / Math.max(1, lookups.requests);
    log(
      `bench: session lookups in the database: ${lookups.lookups} for ${lookups.requests} ` +
        'signed-in API requests',
    );
    api = await startApi(database, { env: apiEnv, nodeArgs: apiNodeArgs });

    web = await startWeb(api.url, { env: { LOG_LEVEL: args['log-level'] } });
    log(`bench: web ready in ${web.startToReadyMs.toFixed(0)} ms`);
    // As a browser asks for it: compressed, so the figure includes the compression it pays.
    const page = await http('web-page', 'web GET / (gzip, br)', web, {
      path: '/',
      tokens,
      tokenIn: 'cookie',
      headers: { 'Accept-Encoding': 'gzip, deflate, br, zstd' },
    });
    await http('web-api-list', 'web GET /api/goals?limit=20', web, {
      path: '/api/goals?limit=20',
      tokens,
    });
    web.memory.stop();
    api.memory.sample();
    const apiPeakMb = megabytes(Math.max(goalsLoadPeak, api.memory.highWater));
    const apiPeakPrivateMb = megabytes(Math.max(goalsLoadPeakPrivate, api.memory.peakPrivate));
    const webPeakMb = megabytes(web.memory.highWater);

    log(`bench: sign-ins (POST /sessions), ${signInConnections} connections`);
    const hash = await timePasswordHash(database.url, accounts[0] as SignedIn);
    log(
      `  one password hash alone (${hash.parameters}): ${hash.medianMs.toFixed(1)} ms, ` +
        `${hash.medianCpuMs.toFixed(1)} ms of CPU`,
    );
    const credentials = accounts.map((account) =>
      luaString(JSON.stringify({ email: account.email, password: account.password })),
    );
    const signIn = await http(
      'api-sign-in',
      'API POST /sessions (sign-in)',
      api,
      {
        method: 'POST',
        path: '/sessions',
        bodyLua: `({ ${credentials.join(', ')} })[n % ${credentials.length} + 1]`,
      },
      // A sign-in waits its turn for a hash: on a busy machine that takes seconds.
      { clients: signInConnections, timeoutS: 10 },
    );
    api.memory.stop();
    // libuv's 4 threads run the hashes: no more at once than that, or than there are cores.
    const hashingCores = Math.min(machine.cpus, 4);
    const hashBound = (hashingCores * 1000) / hash.medianCpuMs;
    const signInPeakMb = megabytes(api.memory.highWater);

    const restartMs = Math.max(...restarts);
    const scaleRatio = listRow.result.p99Ms / small.result.p99Ms;
    const apiReadP99 = Math.max(
      listRow.result.p99Ms,
      ...rows.filter((row) => row.id === 'api-get').map((row) => row.result.p99Ms),
    );
    const targets = [
      checkTarget('writes refused with the limits off (of 500)', refused.length, '<=', 0),
      checkTarget('GET /goals / SELECT ceiling', listRow.fractionOfCeiling, '>=', 0.66),
      checkTarget('POST /goals / INSERT ceiling', createRow.fractionOfCeiling, '>=', 0.45),
      checkTarget('API read p99 (list, by id)', apiReadP99, '<=', 15, ' ms'),
      checkTarget(
        'session lookups in the database per 1,000 requests',
        lookups.perThousand,
        '<=',
        1,
      ),
      // Private memory, not RSS: the node binary's file pages (44 MB on Node 20, 54 MB on
      // Node 24) count in every process's RSS, yet exist once per instance and can be dropped.
      checkTarget(
        'API peak private memory (RssAnon), goals and web loads',
        apiPeakPrivateMb,
        '<=',
        100,
        ' MB',
      ),
      checkTarget('API start to ready (restart, worst of 3)', restartMs, '<=', 1000, ' ms'),
      checkTarget(`GET /goals p99 ${goals} vs ${baseline} goals`, scaleRatio, '<=', 1.5, '×'),
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
        accounts: accountCount,
        signInConnections,
        synchronousCommit,
        pgbenchProtocol: protocol,
        apiEnv,
        abuseLimitsOff: ABUSE_LIMITS_OFF,
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
      memoryMb: {
        apiPeak: apiPeakMb,
        apiPeakPrivate: apiPeakPrivateMb,
        apiPeakAfterSignIns: signInPeakMb,
        webPeak: webPeakMb,
      },
      scale: {
        p99AtBaseline: small.result.p99Ms,
        p99AtGoals: listRow.result.p99Ms,
        ratio: scaleRatio,
      },
      refusedWritesWithLimitsOff: refused.length,
      sessionLookups: lookups,
      signIn: {
        perSecond: signIn.result.rps,
        p50Ms: signIn.result.p50Ms,
        p99Ms: signIn.result.p99Ms,
        hash,
        perSecondIfOnlyHashing: hashBound,
      },
      scenarios: rows,
      targets,
    };
    const file = await saveReport(report, startedAt);
    if (!args['json-only']) {
      log('');
      log(scenarioTable(rows));
      log('');
      log(`abuse limits turned OFF in the API's environment: ${describeEnv(ABUSE_LIMITS_OFF)}`);
      log(
        `signed in as ${accountCount} accounts in turn; session lookups in the database: ` +
          `${lookups.lookups} for ${lookups.requests} API requests`,
      );
      log(
        `sign-in: ${signIn.result.rps.toFixed(1)} a second over ${signInConnections} connections ` +
          `(p50 ${signIn.result.p50Ms.toFixed(0)} ms, p99 ${signIn.result.p99Ms.toFixed(0)} ms); ` +
          `one hash alone ${hash.medianMs.toFixed(1)} ms, ${hash.medianCpuMs.toFixed(1)} ms of CPU ` +
          `(${hash.parameters}): at most ${hashBound.toFixed(0)} a second with ${hashingCores} ` +
          `cores hashing and nothing else; the API spent ${((signIn.serverCpuUs ?? 0) / 1000).toFixed(1)} ms of CPU a sign-in`,
      );
      log(
        `start to ready: first boot ${firstBootMs.toFixed(0)} ms (empty database), ` +
          `restarts ${restarts.map((ms) => ms.toFixed(0)).join('/')} ms ` +
          `(CPU ${restartCpu.map((ms) => ms.toFixed(0)).join('/')} ms); web ${web.startToReadyMs.toFixed(0)} ms`,
      );
      log(
        `peak RSS (VmHWM): API ${apiPeakMb} MB (${signInPeakMb} MB once sign-ins had run), ` +
          `web ${webPeakMb} MB; API peak private memory (RssAnon) ${apiPeakPrivateMb} MB`,
      );
      log(
        `scale: GET /goals p99 ${small.result.p99Ms.toFixed(2)} ms at ${baseline} goals, ` +
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

(workerCounts ? mainWorkers(workerCounts) : main()).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
