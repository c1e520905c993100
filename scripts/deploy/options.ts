import { parseArgs } from 'node:util';
import { ENVIRONMENT_NAMES, type EnvironmentName } from '../../infra/config/types.js';

/** Bad arguments: the script prints the message and its usage, and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Values passed to the CDK app as `-c key=value` (the keys infra/bin/goal-tracker.ts reads). */
export interface StackContext {
  sshCidr?: string;
  domain?: string;
  hostedZoneId?: string;
  certificateArn?: string;
  alarmEmail?: string;
}

interface SharedOptions {
  env: EnvironmentName;
  dryRun: boolean;
  /** Deploy: `--require-approval never` for the CDK; destroy: no "are you sure" question. */
  yes: boolean;
  region?: string | undefined;
  /** Where every AWS call goes instead of AWS (a rehearsal against moto, say). */
  endpointUrl?: string | undefined;
  context: StackContext;
}

export interface DeployOptions extends SharedOptions {
  /** Build from a working tree with uncommitted changes. */
  allowDirty: boolean;
}

export interface DestroyOptions extends SharedOptions {
  /** Also delete the ECR repositories shared by every environment. */
  withRegistry: boolean;
}

const NAMES = ENVIRONMENT_NAMES.join('|');
const ONE_OF = ENVIRONMENT_NAMES.join(' or ');

export const DEPLOY_USAGE = `usage: npm run deploy -- --env ${NAMES} [options]

  --env <name>              environment to deploy: ${ONE_OF} (required)
  --region <region>         AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the AWS CLI's)
  --ssh-cidr <cidr>         address range allowed to SSH to the bastion (required), e.g. your
                            public IP: --ssh-cidr $(curl -s https://checkip.amazonaws.com)/32
  --domain <name>           the site's name, served by the load balancer with an ACM certificate
                            (needs --hosted-zone-id); without it CloudFront serves the site and
                            the region must be us-east-1
  --hosted-zone-id <id>     the Route 53 hosted zone that holds --domain
  --certificate-arn <arn>   an existing ACM certificate for --domain (default: the stack creates one)
  --alarm-email <address>   where CloudWatch alarms are sent
  --allow-dirty             build from a working tree with uncommitted changes
  --yes                     do not ask to approve security-related changes
  --endpoint-url <url>      send every AWS and CDK call there (default: AWS_ENDPOINT_URL), e.g.
                            a moto server for a rehearsal
  --dry-run                 print every command without running any
  --help                    show this help`;

export const DESTROY_USAGE = `usage: npm run destroy -- --env ${NAMES} [options]

  --env <name>              environment to delete: ${ONE_OF} (required)
  --region <region>         AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the AWS CLI's)
  --with-registry           also delete the ECR repositories (shared by all environments)
  --yes                     do not ask for confirmation
  --endpoint-url <url>      send every AWS and CDK call there (default: AWS_ENDPOINT_URL), e.g.
                            a moto server for a rehearsal
  --dry-run                 print every command without running any
  --help                    show this help`;

const contextOptions = {
  region: { type: 'string' },
  'endpoint-url': { type: 'string' },
  'ssh-cidr': { type: 'string' },
  domain: { type: 'string' },
  'hosted-zone-id': { type: 'string' },
  'certificate-arn': { type: 'string' },
  'alarm-email': { type: 'string' },
} as const;

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Runs `parseArgs`, turning its complaints (unknown option, missing value) into a UsageError. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function environment(value: string | undefined): EnvironmentName {
  if (value === undefined) throw new UsageError(`--env is required: ${ONE_OF}`);
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(value)) {
    throw new UsageError(`unknown environment "${value}": use ${ONE_OF}`);
  }
  return value as EnvironmentName;
}

function region(value: string | undefined): string | undefined {
  if (value !== undefined && !REGION.test(value)) {
    throw new UsageError(`--region "${value}" is not an AWS region name such as eu-west-1`);
  }
  return value;
}

function endpointUrl(value: string | undefined): string | undefined {
  if (value !== undefined && !/^https?:\/\/./.test(value)) {
    throw new UsageError(`--endpoint-url "${value}" is not a URL such as http://localhost:5000`);
  }
  return value;
}

function stackContext(values: {
  'ssh-cidr'?: string | undefined;
  domain?: string | undefined;
  'hosted-zone-id'?: string | undefined;
  'certificate-arn'?: string | undefined;
  'alarm-email'?: string | undefined;
}): StackContext {
  const context: StackContext = {};
  const sshCidr = values['ssh-cidr'];
  if (sshCidr !== undefined) {
    const match = IPV4_CIDR.exec(sshCidr);
    const octets = match?.slice(1, 5).map(Number) ?? [];
    if (!match || octets.some((octet) => octet > 255) || Number(match[5]) > 32) {
      throw new UsageError(`--ssh-cidr "${sshCidr}" is not an IPv4 CIDR such as 203.0.113.7/32`);
    }
    if (Number(match[5]) === 0) {
      throw new UsageError(`--ssh-cidr "${sshCidr}" would open SSH to the whole internet`);
    }
    context.sshCidr = sshCidr;
  }
  const { domain, 'hosted-zone-id': hostedZoneId } = values;
  // The CDK app refuses these combinations too, but only after the registry is deployed.
  if ((domain === undefined) !== (hostedZoneId === undefined)) {
    throw new UsageError(
      '--domain and --hosted-zone-id go together: the certificate and the alias record live in that zone',
    );
  }
  if (domain !== undefined && hostedZoneId !== undefined) {
    context.domain = domain;
    context.hostedZoneId = hostedZoneId;
  }
  const certificateArn = values['certificate-arn'];
  if (certificateArn !== undefined) {
    if (!certificateArn.startsWith('arn:aws')) {
      throw new UsageError(`--certificate-arn "${certificateArn}" is not an ARN`);
    }
    if (domain === undefined) {
      throw new UsageError(
        '--certificate-arn needs --domain and --hosted-zone-id: the certificate is for that domain ' +
          '(without a domain, CloudFront serves HTTPS with its own certificate)',
      );
    }
    context.certificateArn = certificateArn;
  }
  const alarmEmail = values['alarm-email'];
  if (alarmEmail !== undefined) {
    if (!/^[^\s@]+@[^\s@]+$/.test(alarmEmail)) {
      throw new UsageError(`--alarm-email "${alarmEmail}" is not an email address`);
    }
    context.alarmEmail = alarmEmail;
  }
  return context;
}

const sharedOptions = {
  env: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  yes: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
  ...contextOptions,
} as const;

/** Parses what both commands take plus the one switch of their own; undefined for --help. */
function parseCommand(
  argv: string[],
  ownSwitch: 'allow-dirty' | 'with-registry',
): { shared: SharedOptions; ownSwitch: boolean } | undefined {
  const { values } = usage(() =>
    parseArgs({
      args: argv,
      strict: true,
      options: { ...sharedOptions, [ownSwitch]: { type: 'boolean', default: false } },
    }),
  );
  if (values.help) return undefined;
  return {
    shared: {
      env: environment(values.env),
      dryRun: values['dry-run'],
      yes: values.yes,
      region: region(values.region),
      endpointUrl: endpointUrl(values['endpoint-url']),
      context: stackContext(values),
    },
    ownSwitch: (values as Record<string, unknown>)[ownSwitch] === true,
  };
}

/** Returns the options, or `undefined` when help was asked for. */
export function parseDeployArgs(argv: string[]): DeployOptions | undefined {
  const parsed = parseCommand(argv, 'allow-dirty');
  // The CDK app has no default on purpose, and without one it cannot synthesize an environment.
  if (parsed && parsed.shared.context.sshCidr === undefined) {
    throw new UsageError(
      '--ssh-cidr is required: the bastion accepts SSH only from the range you name, ' +
        'e.g. --ssh-cidr $(curl -s https://checkip.amazonaws.com)/32',
    );
  }
  return parsed && { ...parsed.shared, allowDirty: parsed.ownSwitch };
}

/** Returns the options, or `undefined` when help was asked for. */
export function parseDestroyArgs(argv: string[]): DestroyOptions | undefined {
  const parsed = parseCommand(argv, 'with-registry');
  return parsed && { ...parsed.shared, withRegistry: parsed.ownSwitch };
}
