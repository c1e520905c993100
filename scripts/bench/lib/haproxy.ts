import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@goal-tracker/test-postgres';
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

export const ALB_HEALTH_CHECK: HealthCheck = {
  path: '/health',
  intervalS: 10,
  timeoutS: 5,
  healthyThreshold: 3,
  unhealthyThreshold: 2,
};

/** The ALB's idle timeout: it closes client and target connections idle this long. */
export const ALB_IDLE_TIMEOUT_S = 60;

export interface LoadBalancer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export function haproxyConfig(
  port: number,
  targets: readonly { name: string; port: number }[],
  check: HealthCheck,
): string {
  const servers = targets.map(
    (target) =>
      `  server ${target.name} 127.0.0.1:${target.port} check inter ${check.intervalS}s ` +
      `fall ${check.unhealthyThreshold} rise ${check.healthyThreshold}`,
  );
  return [
    'global',
    '  maxconn 4096',
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
  await writeFile(config, haproxyConfig(port, targets, check));
  const child = spawn(haproxy, ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
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
  return { url, pid: child.pid, stop };
}
