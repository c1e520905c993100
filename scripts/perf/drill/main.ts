/**
 * `npm run drill [-- names...]`: fault drills against the production builds. Each prints what
 * happened and checks the outcome; the exit code is non-zero when any check failed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatLoad, machineInfo, snapshot } from '../harness/machine.js';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { assertBuilt, buildAll } from '../harness/stack.js';
import { findTool } from '../harness/tools.js';
import { cacheCoherenceDrill } from './cache-coherence.js';
import { idleKeepAliveDrill } from './idle-keep-alive.js';
import { instanceLossDrill } from './instance-loss.js';
import type { DrillResult } from '../harness/drill.js';
import { poolExhaustionDrill } from './pool-exhaustion.js';
import { postgresRestartDrill } from './postgres-restart.js';
import { sigtermDrill } from './sigterm.js';
import { signOutDrill } from './sign-out.js';
import { soakDrill } from './soak.js';

function parseOptions() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        rate: { type: 'string' },
        'soak-seconds': { type: 'string', default: '300' },
        'no-build': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    console.error(
      `${error instanceof Error ? error.message : String(error)}; see npm run drill -- --help`,
    );
    return process.exit(2);
  }
}
const { values: args, positionals } = parseOptions();

const DRILLS: Record<string, () => Promise<DrillResult>> = {
  sigterm: () => sigtermDrill(),
  'postgres-restart': () => postgresRestartDrill(),
  'pool-exhaustion': () => poolExhaustionDrill(),
  'cache-coherence': () => cacheCoherenceDrill(),
  'sign-out': () => signOutDrill(),
  'idle-keep-alive': () => idleKeepAliveDrill(),
  'instance-loss': () => instanceLossDrill(),
  soak: () =>
    soakDrill({
      rate: args.rate ? Number(args.rate) : undefined,
      durationS: Number(args['soak-seconds']),
    }),
};

if (args.help) {
  console.log(`Usage: npm run drill -- [${Object.keys(DRILLS).join('|')}...] [--rate N] [--soak-seconds S] [--no-build]
Runs all drills when none is named. The soak runs at --rate req/s, or at half the GET /goals
capacity of the newest bench/results file.`);
  process.exit(0);
}

async function main(): Promise<void> {
  const names = positionals.length ? positionals : Object.keys(DRILLS);
  const unknown = names.filter((name) => !(name in DRILLS));
  if (unknown.length)
    throw new Error(
      `unknown drill ${unknown.join(', ')}; known: ${Object.keys(DRILLS).join(', ')}`,
    );
  if (names.includes('instance-loss') && !findTool('haproxy')) {
    throw new Error('the instance-loss drill needs HAProxy: apt-get install -y haproxy');
  }
  if (!args['no-build']) {
    console.log('drill: building (tsc -b)');
    await buildAll();
  }
  assertBuilt();
  const machine = machineInfo();
  console.log(`drill: ${machine.cpus} × ${machine.cpuModel}; ${formatLoad(snapshot())}`);
  const results: DrillResult[] = [];
  for (const name of names) {
    const run = DRILLS[name];
    if (run) results.push(await run());
  }
  console.log('');
  for (const result of results) {
    console.log(
      `${result.passed ? 'PASS' : 'FAIL'}  ${result.name}${result.passed ? '' : `: ${result.failures.join('; ')}`}`,
    );
  }
  const dir = join(REPOSITORY_ROOT, 'bench/results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `drill-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify({ machine, load: snapshot(), results }, null, 2)}\n`);
  console.log(`saved ${file}`);
  if (results.some((result) => !result.passed)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
