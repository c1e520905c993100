import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Everything that differs between the frontend's and the backend's bootstrap script. */
export interface AppUserDataParams {
  readonly tier: string;
  readonly region: string;
  /** `<repository URI>:<tag>`; the registry host is the part before the first `/`. */
  readonly image: string;
  readonly containerPort: number;
  readonly healthPath: string;
  readonly logGroupName: string;
  readonly stackName: string;
  /** Logical ID of the Auto Scaling group that waits for the instance's cfn-signal. */
  readonly signalResource: string;
  /** The target group whose check of `healthPath` must pass before the instance signals. */
  readonly targetGroupArn: string;
  /** The container's environment variables. */
  readonly environment: Readonly<Record<string, string>>;
}

const WATCHDOG_MARKER = '@@CONTAINER_WATCHDOG@@';
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** The directory of the shell templates: `infra/user-data`, from source or compiled code. */
export const USER_DATA_DIR = findUserDataDir();

function findUserDataDir(): string {
  // Source runs from infra/lib, compiled code from infra/dist/lib.
  for (const relative of ['../user-data/', '../../user-data/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(join(dir, 'app-instance.sh'))) return dir;
  }
  throw new Error('infra/user-data/app-instance.sh not found next to the infra sources.');
}

/** Single-quotes a value for bash; CDK tokens inside resolve to plain ARNs and DNS names. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Renders an app instance's user data: a bash script (`set -euo pipefail`) that installs
 * Docker, logs in to ECR, pulls the image, runs it under systemd with the awslogs driver and a
 * health check, restarts it when unhealthy, and sends cfn-signal once its load balancer target
 * is healthy.
 */
export function renderAppUserData(params: AppUserDataParams): string {
  for (const name of Object.keys(params.environment)) {
    if (!ENV_NAME.test(name)) throw new Error(`Invalid container environment name "${name}".`);
  }
  const header = [
    '#!/bin/bash',
    `# Goal Tracker ${params.tier} instance bootstrap, rendered by infra/lib/app-user-data.ts.`,
    'set -euo pipefail',
    '',
    `readonly TIER=${shellQuote(params.tier)}`,
    `readonly REGION=${shellQuote(params.region)}`,
    `readonly IMAGE=${shellQuote(params.image)}`,
    `readonly CONTAINER_PORT=${shellQuote(String(params.containerPort))}`,
    `readonly HEALTH_PATH=${shellQuote(params.healthPath)}`,
    `readonly LOG_GROUP=${shellQuote(params.logGroupName)}`,
    `readonly STACK_NAME=${shellQuote(params.stackName)}`,
    `readonly SIGNAL_RESOURCE=${shellQuote(params.signalResource)}`,
    `readonly TARGET_GROUP_ARN=${shellQuote(params.targetGroupArn)}`,
    'readonly CONTAINER_ENVIRONMENT=(',
    ...Object.entries(params.environment).map(
      ([name, value]) => `  ${shellQuote(`${name}=${value}`)}`,
    ),
    ')',
  ];
  const watchdog = readFileSync(join(USER_DATA_DIR, 'container-watchdog.sh'), 'utf8').trimEnd();
  const body = readFileSync(join(USER_DATA_DIR, 'app-instance.sh'), 'utf8');
  if (!body.includes(WATCHDOG_MARKER)) throw new Error(`app-instance.sh lacks ${WATCHDOG_MARKER}.`);
  return `${header.join('\n')}\n\n${body.replace(WATCHDOG_MARKER, () => watchdog)}`;
}
