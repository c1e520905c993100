import type { EnvironmentConfig } from './types.js';

/**
 * What the specification fixes for every environment: instance types, group sizes, and the
 * deploy-time values that only context provides (no SSH CIDR default, on purpose).
 */
export const specificationDefaults = {
  sshCidr: undefined,
  certificateArn: undefined,
  domain: undefined,
  hostedZoneId: undefined,
  // aws ec2 describe-managed-prefix-lists --region us-east-1 \
  //   --filters Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing
  // A constant, not a lookup: synth stays offline, and the CloudFront shape is us-east-1 only.
  cloudFrontPrefixListId: 'pl-3b927c52',
  alarmEmail: undefined,
  imageTag: undefined,
  appInstanceType: 't3.micro',
  // al2023-ami-2023.9.20251208.0-kernel-6.1-x86_64. Bump on purpose (infra/README.md, "AMI"):
  // a change replaces every app instance, one at a time, on the next deploy.
  machineImages: { 'us-east-1': 'ami-068c0051b15cdb816' },
  bastionInstanceType: 't2.micro',
  rootVolumeGiB: 10,
  frontend: { minCapacity: 2, maxCapacity: 4 },
  backend: { minCapacity: 2, maxCapacity: 6 },
  healthCheckGraceSeconds: 300,
} as const satisfies Partial<EnvironmentConfig>;
