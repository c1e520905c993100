import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Command, Runner } from './runner.js';

/** A refusal or a failed step: the script prints the message and exits with 1. */
export class DeployError extends Error {
  override name = 'DeployError';
}

/** What the steps share: the runner, where output goes, the repository and the environment. */
export interface DeployContext {
  runner: Runner;
  print: (line: string) => void;
  /** Repository root: the Dockerfile is built from here and the CDK app runs in `infra/`. */
  root: string;
  /** The caller's environment: PATH and the AWS_REGION defaults are read from it. */
  env: NodeJS.ProcessEnv;
  /** `--endpoint-url`, else AWS_ENDPOINT_URL: where AWS calls go instead of AWS. */
  endpointUrl?: string | undefined;
}

/** An AWS CLI call in `region`, sent to the endpoint the deploy was given, if any. */
export function awsCommand(
  { endpointUrl }: DeployContext,
  region: string,
  args: readonly string[],
): Command {
  const endpoint = endpointUrl === undefined ? [] : ['--endpoint-url', endpointUrl];
  return { program: 'aws', args: [...args, '--region', region, ...endpoint] };
}

/** The bootstrap stack's version parameter (default qualifier); the CDK itself reads this. */
export const BOOTSTRAP_VERSION_PARAMETER = '/cdk-bootstrap/hnb659fds/version';
/** Templates synthesized by aws-cdk-lib 2.x refuse to deploy on a bootstrap stack older than this. */
export const MINIMUM_BOOTSTRAP_VERSION = 6;

const INSTALL = {
  docker: 'install Docker Desktop or Docker Engine: https://docs.docker.com/get-docker/',
  aws: 'install the AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html',
};

export function findExecutable(name: string, path = ''): string | undefined {
  for (const directory of path.split(delimiter)) {
    if (!directory) continue;
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .find(Boolean) ?? 'no output'
  );
}

export interface GitState {
  /** `git rev-parse --short HEAD` */
  commit: string;
  /** Full commit id, recorded as the images' revision label. */
  revision: string;
  dirty: boolean;
}

export async function readGitState({ runner, root }: DeployContext): Promise<GitState> {
  const git = (...args: string[]) => runner.inspect({ program: 'git', args, cwd: root });
  const [short, full, status] = await Promise.all([
    git('rev-parse', '--short', 'HEAD'),
    git('rev-parse', 'HEAD'),
    git('status', '--porcelain', '--untracked-files=normal'),
  ]);
  if (short.code !== 0 || full.code !== 0 || status.code !== 0) {
    throw new DeployError(
      `git cannot describe ${root}: ${firstLine(short.stderr || status.stderr)}. ` +
        'The images are tagged with the commit, so deploy from a git checkout with at least one commit.',
    );
  }
  return { commit: short.stdout, revision: full.stdout, dirty: status.stdout !== '' };
}

/**
 * The image tag: the short commit id. A dirty tree's images are not that commit, so they get
 * a tag that says so and never collides with the clean build's (the repositories' tags are
 * immutable).
 */
export function imageTag(git: GitState, now: Date): string {
  if (!git.dirty) return git.commit;
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:T]/g, '');
  return `${git.commit}-dirty-${stamp}`;
}

export interface AwsTarget {
  account: string;
  region: string;
}

interface Checklist {
  ok(line: string): void;
  missing(what: string, advice: string): void;
}

function checklist(print: (line: string) => void, problems: string[]): Checklist {
  return {
    ok: (line) => print(`  ok: ${line}`),
    missing(what, advice) {
      problems.push(what);
      print(`  missing: ${what}: ${advice}`);
    },
  };
}

async function checkDocker(context: DeployContext, check: Checklist): Promise<void> {
  if (!findExecutable('docker', context.env.PATH)) {
    check.missing('docker', `not found on PATH; ${INSTALL.docker}`);
    return;
  }
  const { runner } = context;
  const buildx = await runner.ask({ program: 'docker', args: ['buildx', 'version'] }, '<buildx>');
  if (buildx.code !== 0) {
    check.missing(
      'docker buildx',
      'the Buildx plugin builds the linux/amd64 images; Docker Desktop ships it, on Linux install docker-buildx-plugin',
    );
  }
  const daemon = await runner.ask(
    { program: 'docker', args: ['info', '--format', '{{.ServerVersion}}'] },
    '<docker-version>',
  );
  if (daemon.code !== 0) {
    check.missing(
      'docker daemon',
      `not reachable (${firstLine(daemon.stderr)}); start Docker Desktop or \`sudo systemctl start docker\``,
    );
  } else if (buildx.code === 0) {
    check.ok(`docker ${daemon.stdout} with buildx`);
  }
}

async function resolveRegion(
  context: DeployContext,
  requested: string | undefined,
): Promise<string | undefined> {
  const fromEnv = requested ?? context.env.AWS_REGION ?? context.env.AWS_DEFAULT_REGION;
  if (fromEnv) return fromEnv;
  // The CLI's own configuration (profile or ~/.aws/config): a local read, so a dry run reads it too.
  const configured = await context.runner.inspect({
    program: 'aws',
    args: ['configure', 'get', 'region'],
  });
  return configured.code === 0 && configured.stdout ? configured.stdout : undefined;
}

async function checkAws(
  context: DeployContext,
  check: Checklist,
  needs: PrerequisiteNeeds,
): Promise<AwsTarget | undefined> {
  if (!findExecutable('aws', context.env.PATH)) {
    check.missing('AWS CLI', `not found on PATH; ${INSTALL.aws}`);
    return undefined;
  }
  const region = await resolveRegion(context, needs.region);
  if (!region) {
    check.missing(
      'AWS region',
      "none set; pass --region (us-east-1 is the CDK app's default) or set AWS_REGION",
    );
    return undefined;
  }
  // Not a missing prerequisite but a wrong choice: stop before asking AWS anything.
  const refusal = needs.refuseRegion?.(region);
  if (refusal) throw new DeployError(refusal);
  const identity = await context.runner.ask(
    awsCommand(context, region, [
      'sts',
      'get-caller-identity',
      '--query',
      'Account',
      '--output',
      'text',
    ]),
    '<account-id>',
  );
  if (identity.code !== 0 || !identity.stdout) {
    check.missing(
      'AWS credentials',
      `none usable (${firstLine(identity.stderr)}); run \`aws configure\` or \`aws sso login\`, or set AWS_PROFILE`,
    );
    return undefined;
  }
  const account = identity.stdout;
  check.ok(`AWS account ${account}, region ${region}`);
  if (needs.bootstrap) await checkBootstrap(context, check, { account, region });
  return { account, region };
}

async function checkBootstrap(
  context: DeployContext,
  check: Checklist,
  { account, region }: AwsTarget,
): Promise<void> {
  const parameter = await context.runner.ask(
    awsCommand(context, region, [
      'ssm',
      'get-parameter',
      '--name',
      BOOTSTRAP_VERSION_PARAMETER,
      '--query',
      'Parameter.Value',
      '--output',
      'text',
    ]),
    '<bootstrap-version>',
  );
  const bootstrap = `npx cdk bootstrap aws://${account}/${region}`;
  if (parameter.code !== 0) {
    const reason = parameter.stderr.includes('ParameterNotFound')
      ? `account ${account} is not bootstrapped in ${region}`
      : `cannot read ${BOOTSTRAP_VERSION_PARAMETER} (${firstLine(parameter.stderr)})`;
    check.missing('CDK bootstrap', `${reason}; run \`${bootstrap}\` once`);
    return;
  }
  const version = Number(parameter.stdout);
  if (Number.isFinite(version) && version < MINIMUM_BOOTSTRAP_VERSION) {
    check.missing(
      'CDK bootstrap',
      `version ${version} is older than ${MINIMUM_BOOTSTRAP_VERSION}; run \`${bootstrap}\` to upgrade it`,
    );
    return;
  }
  check.ok(`CDK bootstrap version ${parameter.stdout}`);
}

function checkCdkCli({ root }: DeployContext, check: Checklist): void {
  if (!existsSync(join(root, 'node_modules', 'aws-cdk', 'package.json'))) {
    check.missing('CDK CLI', 'not installed in this checkout; run `npm ci` at the repository root');
  }
}

export interface PrerequisiteNeeds {
  docker: boolean;
  bootstrap: boolean;
  region: string | undefined;
  /** A reason the resolved region cannot be used, if there is one. */
  refuseRegion?: ((region: string) => string | undefined) | undefined;
}

/**
 * Checks everything a run needs before it changes anything, printing one line for each
 * missing prerequisite with what to do about it, and fails if any is missing.
 */
export async function checkPrerequisites(
  context: DeployContext,
  needs: PrerequisiteNeeds,
): Promise<AwsTarget> {
  const problems: string[] = [];
  const check = checklist(context.print, problems);
  if (needs.docker) await checkDocker(context, check);
  const target = await checkAws(context, check, needs);
  checkCdkCli(context, check);
  if (problems.length > 0 || !target) {
    throw new DeployError(
      `${problems.length} prerequisite${problems.length === 1 ? '' : 's'} missing: ${problems.join(', ')}`,
    );
  }
  return target;
}
