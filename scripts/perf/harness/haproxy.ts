import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@goal-tracker/test-support/free-port';
import { waitForStatus } from './server.js';
import { requireTool } from './tools.js';

/**
 * The internal ALB's target-group health check, as infra configures it. HAProxy applies the
 * same path, interval, timeout and thresholds, and, like an ALB, never retries a failed
 * request on another target: a dead target's share of requests fails until the check
 * marks it unhealthy, unless the caller retries.
 */
export interface HealthCheck {
  path: string;
  intervalS: number;
  timeoutS: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/** The internal ALB's target group check, as infra/lib/tier-load-balancer.ts sets it. */
export const ALB_HEALTH_CHECK: HealthCheck = {
  path: '/health',
  intervalS: 10,
  timeoutS: 5,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

/** The ALB's idle timeout: it closes client and target connections idle this long. */
export const ALB_IDLE_TIMEOUT_S = 60;

export interface LoadBalancer {
  readonly url: string;
  readonly pid: number;
  /** HAProxy's own lines (e.g. `Server api/api-2 is DOWN`), stamped with performance.now(). */
  readonly events: { at: number; line: string }[];
  /** Health-check state of each server, from the admin socket's `show servers state`. */
  servers(): Promise<{ name: string; up: boolean; health: number }[]>;
  stop(): Promise<void>;
}

/** Sends one command to HAProxy's admin socket and returns its answer. */
function adminCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(socketPath, () => socket.end(`${command}\n`));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

export function haproxyConfig(
  port: number,
  targets: readonly { name: string; port: number }[],
  check: HealthCheck,
  adminSocket: string,
): string {
  const servers = targets.map(
    (target) =>
      `  server ${target.name} 127.0.0.1:${target.port} check inter ${check.intervalS}s ` +
      `fall ${check.unhealthyThreshold} rise ${check.healthyThreshold}`,
  );
  return [
    'global',
    '  maxconn 4096',
    `  stats socket ${adminSocket} mode 600 level admin`,
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  timeout connect 10s',
    `  timeout client ${ALB_IDLE_TIMEOUT_S}s`,
    `  timeout server ${ALB_IDLE_TIMEOUT_S}s`,
    `  timeout http-keep-alive ${ALB_IDLE_TIMEOUT_S}s`,
    '  retries 0',
    'frontend internal_alb',
    `  bind 127.0.0.1:${port}`,
    '  default_backend api',
    'backend api',
    '  balance roundrobin',
    `  option httpchk GET ${check.path}`,
    '  http-check expect status 200',
    `  timeout check ${check.timeoutS}s`,
    ...servers,
    '',
  ].join('\n');
}

/** Starts HAProxy in the foreground in front of the given API instances. */
export async function startLoadBalancer(
  targets: readonly { name: string; port: number }[],
  check: HealthCheck = ALB_HEALTH_CHECK,
): Promise<LoadBalancer> {
  const haproxy = requireTool('haproxy');
  const dir = await mkdtemp(join(tmpdir(), 'goal-tracker-haproxy-'));
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  const adminSocket = join(dir, 'admin.sock');
  await writeFile(config, haproxyConfig(port, targets, check, adminSocket));
  const child = spawn(haproxy, ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const events: { at: number; line: string }[] = [];
  const keep = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
    for (const line of text.split('\n').filter(Boolean))
      events.push({ at: performance.now(), line });
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let alive = true;
  const exited = new Promise<void>((done) => child.on('exit', () => ((alive = false), done())));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (alive) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  if (!(await waitForStatus(`${url}${check.path}`, 200, 5000, () => alive)) || !child.pid) {
    await stop();
    throw new Error(`HAProxy did not start:\n${output}`);
  }
  const servers = async () => {
    // `show servers state`: a version line, then a `# be_id be_name srv_id srv_name ...` header.
    const lines = (await adminCommand(adminSocket, 'show servers state api')).split('\n');
    const header =
      lines
        .find((line) => line.startsWith('# '))
        ?.slice(2)
        .split(' ') ?? [];
    const column = (fields: string[], name: string) => fields[header.indexOf(name)] ?? '';
    return lines
      .filter((line) => line && !line.startsWith('#') && line.split(' ').length === header.length)
      .map((line) => line.split(' '))
      .map((fields) => ({
        name: column(fields, 'srv_name'),
        up: column(fields, 'srv_op_state') === '2',
        health: Number(column(fields, 'srv_check_health')),
      }));
  };
  return { url, pid: child.pid, events, servers, stop };
}
