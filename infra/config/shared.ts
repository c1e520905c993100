import type { EnvironmentConfig } from './types.js';

/**
 * What the specification fixes for every environment: instance types, group sizes, and the
 * deploy-time values that only context provides (no SSH CIDR default, on purpose).
 */
export const specificationDefaults = {
  sshCidr: undefined,
  certificateArn: undefined,
  alarmEmail: undefined,
  imageTag: 'latest',
  appInstanceType: 't3.micro',
  bastionInstanceType: 't2.micro',
  rootVolumeGiB: 10,
  frontend: { minCapacity: 2, maxCapacity: 4 },
  backend: { minCapacity: 2, maxCapacity: 6 },
  healthCheckGraceSeconds: 300,
} as const satisfies Partial<EnvironmentConfig>;
