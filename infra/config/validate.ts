import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { SCRATCH_TAG_PREFIX } from '../lib/registry.js';
import { ENVIRONMENT_NAMES, type EnvironmentConfig, type TierCapacity } from './types.js';

/** AZs the VPC spans; NAT gateways cannot outnumber them. */
export const AVAILABILITY_ZONES = 2;

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
// Docker's tag grammar: https://docs.docker.com/reference/cli/docker/image/tag/
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const ACM_CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,31}$/;
const AMI_ID = /^ami-[0-9a-f]{8,17}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Throws one error listing every problem in the config, each naming the setting and how to
 * fix it, so a bad deploy never reaches CloudFormation.
 */
export function validateEnvironmentConfig(config: EnvironmentConfig): void {
  const problems = [
    ...checkEnvironmentName(config.envName),
    ...checkSshCidr(config.sshCidr),
    ...checkNatGateways(config.natGateways),
    ...checkCapacity('frontend', config.frontend),
    ...checkCapacity('backend', config.backend),
    ...checkOptional('imageTag', config.imageTag, IMAGE_TAG, `a Docker tag (${IMAGE_TAG.source})`),
    ...checkNotScratch(config.imageTag),
    ...checkOptional('certificateArn', config.certificateArn, ACM_CERTIFICATE_ARN, 'an ACM ARN'),
    ...checkOptional('domain', config.domain, DOMAIN, 'a DNS name such as goals.example.com'),
    ...checkOptional(
      'hostedZoneId',
      config.hostedZoneId,
      HOSTED_ZONE_ID,
      'a Route 53 hosted zone ID',
    ),
    ...checkDomainSettings(config),
    ...Object.entries(config.machineImages).flatMap(([region, ami]) =>
      checkOptional(`machineImages.${region}`, ami, AMI_ID, 'an AMI ID'),
    ),
    ...checkOptional('alarmEmail', config.alarmEmail, EMAIL, 'an e-mail address'),
    ...checkLogRetention(config.logRetentionDays),
    ...checkPositiveInteger('accessLogRetentionDays', config.accessLogRetentionDays),
    ...checkPositiveInteger('healthCheckGraceSeconds', config.healthCheckGraceSeconds),
    ...checkPositiveInteger('database.allocatedStorageGiB', config.database.allocatedStorageGiB),
    ...(config.database.rotationDays === undefined
      ? []
      : checkPositiveInteger('database.rotationDays', config.database.rotationDays)),
  ];
  if (problems.length > 0) {
    throw new Error(
      `Invalid configuration for environment "${String(config.envName)}":\n- ${problems.join('\n- ')}`,
    );
  }
}

function checkEnvironmentName(envName: string): string[] {
  return (ENVIRONMENT_NAMES as readonly string[]).includes(envName)
    ? []
    : [`envName "${envName}" is unknown: expected one of ${ENVIRONMENT_NAMES.join(', ')}.`];
}

function checkSshCidr(sshCidr: string | undefined): string[] {
  if (sshCidr === undefined || sshCidr.trim() === '') {
    return [
      'sshCidr is missing: the bastion accepts SSH only from a CIDR you name. ' +
        'Pass it with `-c sshCidr=<your public IP>/32` (there is deliberately no default).',
    ];
  }
  const match = IPV4_CIDR.exec(sshCidr);
  const octets = match?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(match?.[5]);
  if (!match || octets.some((octet) => octet > 255) || prefix > 32) {
    return [`sshCidr "${sshCidr}" is not an IPv4 CIDR such as 203.0.113.7/32.`];
  }
  if (prefix === 0) {
    return [
      `sshCidr "${sshCidr}" opens SSH to the whole internet; name your own network instead ` +
        '(e.g. <your public IP>/32). Session Manager needs no SSH at all.',
    ];
  }
  return [];
}

function checkNatGateways(natGateways: number): string[] {
  return Number.isInteger(natGateways) && natGateways >= 1 && natGateways <= AVAILABILITY_ZONES
    ? []
    : [
        `natGateways ${natGateways} is out of range: expected an integer from 1 to ` +
          `${AVAILABILITY_ZONES} (private subnets need one; there is at most one per AZ).`,
      ];
}

function checkCapacity(tier: string, capacity: TierCapacity): string[] {
  const { minCapacity, maxCapacity } = capacity;
  const valid =
    Number.isInteger(minCapacity) &&
    Number.isInteger(maxCapacity) &&
    minCapacity >= 1 &&
    minCapacity < maxCapacity;
  // A rolling update keeps minCapacity in service and adds one, so max must exceed min.
  return valid
    ? []
    : [
        `${tier} capacity ${minCapacity}-${maxCapacity} is invalid: expected integers 1 <= min < max.`,
      ];
}

function checkDomainSettings(config: EnvironmentConfig): string[] {
  const problems: string[] = [];
  if (config.domain !== undefined && config.hostedZoneId === undefined) {
    problems.push(
      `domain "${config.domain}" needs its Route 53 hosted zone: pass -c hostedZoneId=<Z...> ` +
        '(a lookup by name would need credentials at synth).',
    );
  }
  if (config.domain === undefined && config.certificateArn !== undefined) {
    problems.push(
      'certificateArn is set without a domain: a certificate names a domain, so pass ' +
        '-c domain=<name> -c hostedZoneId=<id> with it (without a domain, CloudFront serves HTTPS).',
    );
  }
  if (config.domain === undefined && config.hostedZoneId !== undefined) {
    problems.push('hostedZoneId is set without a domain: pass -c domain=<name> too.');
  }
  return problems;
}

function checkNotScratch(imageTag: string | undefined): string[] {
  return imageTag?.startsWith(SCRATCH_TAG_PREFIX)
    ? [
        `imageTag "${imageTag}" starts with "${SCRATCH_TAG_PREFIX}": the registry expires those ` +
          'images, so an environment must not run one.',
      ]
    : [];
}

function checkOptional(
  name: string,
  value: string | undefined,
  pattern: RegExp,
  expected: string,
): string[] {
  return value === undefined || pattern.test(value)
    ? []
    : [`${name} "${value}" is not ${expected}.`];
}

// CloudWatch Logs accepts only these retention periods (RetentionDays.INFINITE is 9999).
const LOG_RETENTION_DAYS = Object.values(RetentionDays).filter(
  (days): days is number => typeof days === 'number' && days !== RetentionDays.INFINITE,
);

function checkLogRetention(days: number): string[] {
  return LOG_RETENTION_DAYS.includes(days)
    ? []
    : [
        `logRetentionDays ${days} is not a CloudWatch retention: expected one of ${LOG_RETENTION_DAYS.join(', ')}.`,
      ];
}

function checkPositiveInteger(name: string, value: number): string[] {
  return Number.isInteger(value) && value > 0
    ? []
    : [`${name} ${value} is invalid: expected a positive integer.`];
}
