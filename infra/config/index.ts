import { devConfig } from './dev.js';
import { prodConfig } from './prod.js';
import { ENVIRONMENT_NAMES, type EnvironmentConfig, type EnvironmentName } from './types.js';

export * from './types.js';
export { devConfig, prodConfig };

/**
 * The region when the CLI names none. Stacks are account-agnostic (synth needs no
 * credentials) but take a concrete region: the CLI's (CDK_DEFAULT_REGION, from AWS_REGION or
 * the profile), else this one. The ALB access-log bucket policy must name that region's ELB
 * log-delivery principal, and ECR repositories are regional, shared by dev and prod.
 */
export const DEFAULT_REGION = 'us-east-1';

export const environmentConfigs: Readonly<Record<EnvironmentName, EnvironmentConfig>> = {
  dev: devConfig,
  prod: prodConfig,
};

/** Deploy-time values from CDK context (`-c key=value` or cdk.json) that override config. */
export interface ContextOverrides {
  readonly sshCidr?: string | undefined;
  readonly certificateArn?: string | undefined;
  readonly domain?: string | undefined;
  readonly hostedZoneId?: string | undefined;
  readonly alarmEmail?: string | undefined;
  readonly imageTag?: string | undefined;
}

export function isEnvironmentName(name: string): name is EnvironmentName {
  return (ENVIRONMENT_NAMES as readonly string[]).includes(name);
}

/** Returns the environments selected by the `env` context: one by name, or all when unset. */
export function selectEnvironments(env: string | undefined): EnvironmentName[] {
  if (env === undefined || env === '') return [...ENVIRONMENT_NAMES];
  if (!isEnvironmentName(env)) {
    throw new Error(
      `Unknown environment "${env}" (context "env"): expected one of ${ENVIRONMENT_NAMES.join(', ')}.`,
    );
  }
  return [env];
}

/** The environment's typed config with non-empty context values laid over it. */
export function resolveEnvironmentConfig(
  envName: EnvironmentName,
  overrides: ContextOverrides = {},
): EnvironmentConfig {
  const base = environmentConfigs[envName];
  const pick = (value: string | undefined, fallback: string | undefined) =>
    value === undefined || value.trim() === '' ? fallback : value.trim();
  return {
    ...base,
    sshCidr: pick(overrides.sshCidr, base.sshCidr),
    certificateArn: pick(overrides.certificateArn, base.certificateArn),
    domain: pick(overrides.domain, base.domain)?.toLowerCase().replace(/\.$/, ''),
    hostedZoneId: pick(overrides.hostedZoneId, base.hostedZoneId),
    alarmEmail: pick(overrides.alarmEmail, base.alarmEmail),
    imageTag: pick(overrides.imageTag, base.imageTag),
  };
}
