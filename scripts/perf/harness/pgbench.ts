import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LoadResult } from './wrk.js';
import { requireTool } from './tools.js';

const run = promisify(execFile);

export interface PgbenchOptions {
  /** postgres:// URL of the database to load. */
  url: string;
  /** The transaction, in pgbench's script language (one SQL statement per line, `\set`...). */
  script: string;
  clients: number;
  durationS: number;
  threads?: number;
  /** simple | extended | prepared; `prepared` is the fastest a client can drive the server. */
  protocol?: 'simple' | 'extended' | 'prepared';
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? 0;
}

/**
 * Runs pgbench against the database with a custom script and reads every transaction's
 * latency from its per-transaction log, so the ceiling has percentiles like the HTTP runs.
 */
export async function runPgbench(options: PgbenchOptions): Promise<LoadResult> {
  const pgbench = requireTool('pgbench');
  const dir = await mkdtemp(join(tmpdir(), 'goal-tracker-pgbench-'));
  try {
    const script = join(dir, 'transaction.sql');
    await writeFile(script, options.script);
    const url = new URL(options.url);
    const { stdout } = await run(
      pgbench,
      [
        '--no-vacuum',
        `--client=${options.clients}`,
        `--jobs=${options.threads ?? 2}`,
        `--time=${options.durationS}`,
        `--protocol=${options.protocol ?? 'prepared'}`,
        `--file=${script}`,
        '--log',
        `--log-prefix=${join(dir, 'txn')}`,
        `--host=${url.hostname}`,
        `--port=${url.port}`,
        `--username=${decodeURIComponent(url.username)}`,
        decodeURIComponent(url.pathname.slice(1)),
      ],
      {
        cwd: dir,
        env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) },
        timeout: (options.durationS + 60) * 1000,
        maxBuffer: 1 << 20,
      },
    );
    const failed = /number of failed transactions: (\d+)/.exec(stdout);
    const latencies: number[] = [];
    for (const file of await readdir(dir)) {
      if (!file.startsWith('txn')) continue;
      for (const line of (await readFile(join(dir, file), 'utf8')).split('\n')) {
        // client_id transaction_no time(us) script_no time_epoch time_us
        const micros = Number(line.split(' ')[2]);
        if (Number.isFinite(micros) && line) latencies.push(micros / 1000);
      }
    }
    const sorted = Float64Array.from(latencies).sort();
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
    const durationS = options.durationS;
    const errors = Number(failed?.[1] ?? 0);
    return {
      requests: latencies.length,
      durationS,
      rps: tps?.[1] ? Number(tps[1]) : latencies.length / durationS,
      p50Ms: percentile(sorted, 50),
      p90Ms: percentile(sorted, 90),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.length ? (sorted[sorted.length - 1] ?? 0) : 0,
      errors,
      errorDetail: { connect: 0, read: 0, write: 0, status: errors, timeout: 0 },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
