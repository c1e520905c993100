import { execFile as execFileCallback, execFileSync } from 'node:child_process';
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  writeFile,
  appendFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Stack } from 'aws-cdk-lib';
import { CfnRepository } from 'aws-cdk-lib/aws-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENVIRONMENT_NAMES } from '../../infra/config/types.js';
import { createGoalTrackerApp } from '../../infra/lib/goal-tracker-app.js';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { runCli } from '../deploy/cli.js';
import { findExecutable } from '../deploy/prerequisites.js';

const execFile = promisify(execFileCallback);

// Stand-ins for docker, aws and npx: each logs its arguments (one line per call) to $STUB_LOG,
// then behaves as its script says. They let the real code path run with no engine and no AWS.
const LOGGING_PREFIX = '#!/bin/sh\nprintf "%s %s\\n" "${0##*/}" "$*" >> "$STUB_LOG"\n';

const HEALTHY_DOCKER = `case "$1" in
  info) echo 28.2.2 ;;
  login) printf 'docker-login-stdin %s\\n' "$(/bin/cat)" >> "$STUB_LOG" ;;
esac
exit 0`;

/** What the AWS CLI says, on stderr with exit code 254, for a tag the repository lacks. */
const IMAGE_NOT_FOUND = `echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation: The image with imageId {imageDigest:'null', imageTag:'\${6#imageTag=}'} does not exist within the repository with name '$4' in the registry with id '123456789012'" >&2; exit 254`;

/** A first deploy: AWS answers every question, and neither image is in ECR yet. */
const HEALTHY_AWS = `case "$1 $2" in
  "sts get-caller-identity") echo 123456789012 ;;
  "ecr describe-images") ${IMAGE_NOT_FOUND} ;;
  "ssm get-parameter") echo 21 ;;
  "ecr get-login-password") echo s3cr3t-ecr-token ;;
  "cloudformation describe-stacks") echo http://goal-tracker-dev-1234.us-east-1.elb.amazonaws.com ;;
  "configure get") exit 1 ;;
esac
exit 0`;

/** Every deploy needs it: the CDK app has no default bastion SSH range. */
const SSH = ['--ssh-cidr', '203.0.113.7/32'];
const DEV = [...SSH, '--env', 'dev', '--region', 'us-east-1'];
const DRY_RUN_DEV = [...DEV, '--dry-run'];

const NPX_LOGS_DIRECTORY = 'printf "npx-cwd %s\\n" "$(pwd)" >> "$STUB_LOG"\nexit 0';

interface Sandbox {
  repo: string;
  bin: string;
  log: string;
  commit: string;
}

let base: string;
let sandboxCounter = 0;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'goal-tracker-deploy-test-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A one-commit git repository with this checkout's node_modules, and a PATH of stand-ins. */
async function sandbox(stubs: Record<string, string>): Promise<Sandbox> {
  sandboxCounter += 1;
  const root = join(base, String(sandboxCounter));
  const repo = join(root, 'repo');
  const bin = join(root, 'bin');
  await mkdir(join(repo, 'infra'), { recursive: true });
  await mkdir(bin);
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
  git('init', '-q');
  await writeFile(join(repo, 'README.md'), '# fixture\n');
  await writeFile(join(repo, 'infra', 'cdk.json'), '{}\n');
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'fixture');
  // The CDK CLI prerequisite looks in node_modules; link this checkout's, out of git's sight.
  await symlink(join(REPOSITORY_ROOT, 'node_modules'), join(repo, 'node_modules'));
  await appendFile(join(repo, '.git', 'info', 'exclude'), 'node_modules\n');

  const realGit = findExecutable('git', process.env.PATH);
  if (!realGit) throw new Error('git is needed to run these tests');
  await symlink(realGit, join(bin, 'git'));
  for (const [name, script] of Object.entries(stubs)) {
    await writeFile(join(bin, name), LOGGING_PREFIX + script + '\n');
    await chmod(join(bin, name), 0o755);
  }
  const log = join(root, 'calls.log');
  await writeFile(log, '');
  return { repo, bin, log, commit: git('rev-parse', '--short', 'HEAD') };
}

const allStubs = () => ({ docker: HEALTHY_DOCKER, aws: HEALTHY_AWS, npx: NPX_LOGS_DIRECTORY });

async function cli(
  box: Sandbox,
  command: 'deploy' | 'destroy',
  args: string[],
  env: Record<string, string> = {},
) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(command, args, {
    print: (line) => out.push(...line.split('\n')),
    printError: (line) => err.push(...line.split('\n')),
    env: { PATH: box.bin, HOME: box.repo, STUB_LOG: box.log, ...env },
    cwd: box.repo,
  });
  const calls = (await readFile(box.log, 'utf8')).split('\n').filter(Boolean);
  return { code, out, err, stdout: out.join('\n'), stderr: err.join('\n'), calls };
}

/** Index of the first line containing `text`, failing when there is none. */
function lineOf(lines: string[], text: string): number {
  const index = lines.findIndex((line) => line.includes(text));
  expect(index, `a line containing ${text}`).toBeGreaterThanOrEqual(0);
  return index;
}

describe('npm run deploy -- --dry-run', () => {
  it('when run on a clean checkout, then it prints the six steps in order and runs nothing but git', async () => {
    const box = await sandbox(allStubs());
    const result = await cli(box, 'deploy', DRY_RUN_DEV);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const steps = result.out.filter((line) => /^\[\d\/6\]/.test(line));
    expect(steps).toEqual([
      '[1/6] Checking prerequisites',
      '[2/6] Creating or updating the image registry (goal-tracker-registry)',
      `[3/6] Building the images for linux/amd64, tagged ${box.commit}`,
      '[4/6] Pushing the images to <account-id>.dkr.ecr.us-east-1.amazonaws.com',
      `[5/6] Deploying goal-tracker-dev with image tag ${box.commit} (the Auto Scaling groups roll to it)`,
      '[6/6] Reading the application URL',
    ]);
    expect(result.calls).toEqual([]);
    const printed = result.out.filter((line) => line.includes('[dry-run] $'));
    expect(printed.length).toBeGreaterThanOrEqual(11);
  });

  it('when run, then every image and the stack use the tag `git rev-parse --short HEAD`', async () => {
    const box = await sandbox(allStubs());
    const { out } = await cli(box, 'deploy', [
      ...SSH,
      '--env',
      'prod',
      '--dry-run',
      '--region',
      'us-east-1',
    ]);
    const registry = '<account-id>.dkr.ecr.us-east-1.amazonaws.com';
    for (const repository of ['goal-tracker-backend', 'goal-tracker-frontend']) {
      lineOf(out, `--tag '${registry}/${repository}:${box.commit}'`);
      lineOf(out, `docker push '${registry}/${repository}:${box.commit}'`);
    }
    const cdkDeploys = out.filter((line) => line.includes('npx --no cdk deploy'));
    expect(cdkDeploys).toHaveLength(2);
    for (const line of cdkDeploys) expect(line).toContain(`-c env=prod -c imageTag=${box.commit}`);
    expect(cdkDeploys[1]).toContain('cdk deploy goal-tracker-prod --exclusively');
  });

  it('when run, then images are built for linux/amd64 from each Dockerfile target, pushed after an ECR login by stdin, before the stack deploys', async () => {
    const box = await sandbox(allStubs());
    const { out } = await cli(box, 'deploy', DRY_RUN_DEV);
    const registryDeploy = lineOf(out, 'cdk deploy goal-tracker-registry');
    const buildApi = lineOf(out, 'docker buildx build --platform linux/amd64 --target api');
    const buildWeb = lineOf(out, 'docker buildx build --platform linux/amd64 --target web');
    const login = lineOf(
      out,
      'aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin',
    );
    const push = lineOf(out, 'docker push');
    const stackDeploy = lineOf(out, 'cdk deploy goal-tracker-dev');
    const url = lineOf(out, 'aws cloudformation describe-stacks --stack-name goal-tracker-dev');
    expect(registryDeploy).toBeLessThan(buildApi);
    expect(buildApi).toBeLessThan(buildWeb);
    expect(buildWeb).toBeLessThan(login);
    expect(login).toBeLessThan(push);
    expect(push).toBeLessThan(stackDeploy);
    expect(stackDeploy).toBeLessThan(url);
    expect(out[lineOf(out, '--target api')]).toContain('goal-tracker-backend:');
    expect(out[lineOf(out, '--target web')]).toContain('goal-tracker-frontend:');
    expect(out[stackDeploy]).toContain('(in infra) AWS_REGION=us-east-1');
  });

  it('when the working tree has uncommitted changes, then it refuses before any step and names --allow-dirty', async () => {
    const box = await sandbox(allStubs());
    await writeFile(join(box.repo, 'half-done.ts'), 'export {};\n');
    const result = await cli(box, 'deploy', DRY_RUN_DEV);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('uncommitted changes');
    expect(result.stderr).toContain('--allow-dirty');
    expect(result.stdout).not.toContain('[2/6]');
    expect(result.stdout).not.toContain('docker');
  });

  it("when the tree is dirty and --allow-dirty is given, then the tag says so and cannot collide with the commit's", async () => {
    const box = await sandbox(allStubs());
    await writeFile(join(box.repo, 'README.md'), '# changed\n');
    const result = await cli(box, 'deploy', [
      ...SSH,
      '--env',
      'dev',
      '--dry-run',
      '--allow-dirty',
      '--region',
      'us-east-1',
    ]);
    expect(result.code).toBe(0);
    const tag = /imageTag=(\S+)/.exec(result.stdout)?.[1];
    expect(tag).toMatch(new RegExp(`^${box.commit}-dirty-\\d{14}$`));
  });

  it.each([
    [['--env', 'staging'], 'unknown environment "staging": use dev or prod'],
    [[], '--env is required: dev or prod'],
    [['--env', 'dev', '--force'], "Unknown option '--force'"],
    [['--env', 'dev', '--ssh-cidr', '0.0.0.0'], 'is not an IPv4 CIDR'],
    [['--env', 'dev', '--ssh-cidr', '0.0.0.0/0'], 'would open SSH to the whole internet'],
    [['--env', 'dev'], '--ssh-cidr is required'],
    [['--env', 'dev', '--region', 'mars'], 'is not an AWS region name'],
    [[...SSH, '--env', 'dev', '--endpoint-url', 'localhost:5000'], 'is not a URL'],
    [
      [...SSH, '--env', 'dev', '--domain', 'goals.example.com'],
      '--domain and --hosted-zone-id go together',
    ],
    [
      [...SSH, '--env', 'dev', '--hosted-zone-id', 'Z0123456789'],
      '--domain and --hosted-zone-id go together',
    ],
    [
      [
        ...SSH,
        '--env',
        'dev',
        '--certificate-arn',
        'arn:aws:acm:us-east-1:123456789012:certificate/abc',
      ],
      '--certificate-arn needs --domain and --hosted-zone-id',
    ],
  ])(
    'when the arguments are %j, then it exits 2 with "%s" and does nothing',
    async (args, message) => {
      const box = await sandbox(allStubs());
      const result = await cli(box, 'deploy', [...args, '--dry-run']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toContain('usage: npm run deploy');
      expect(result.stdout).toBe('');
      expect(result.calls).toEqual([]);
    },
  );

  it('when --domain, --hosted-zone-id, --certificate-arn and --alarm-email are given, then both CDK deploys receive them as context, in any region', async () => {
    const box = await sandbox(allStubs());
    const { out, code, stderr } = await cli(box, 'deploy', [
      '--env',
      'prod',
      '--dry-run',
      '--region',
      'eu-west-1',
      '--ssh-cidr',
      '203.0.113.7/32',
      '--domain',
      'goals.example.com',
      '--hosted-zone-id',
      'Z0123456789ABCDEFGHIJ',
      '--certificate-arn',
      'arn:aws:acm:eu-west-1:123456789012:certificate/abc',
      '--alarm-email',
      'ops@example.com',
      '--yes',
    ]);
    expect(code, stderr).toBe(0);
    const cdkDeploys = out.filter((line) => line.includes('npx --no cdk deploy'));
    expect(cdkDeploys).toHaveLength(2);
    for (const line of cdkDeploys) {
      expect(line).toContain(
        '-c sshCidr=203.0.113.7/32 -c domain=goals.example.com -c hostedZoneId=Z0123456789ABCDEFGHIJ -c certificateArn=arn:aws:acm:eu-west-1:123456789012:certificate/abc -c alarmEmail=ops@example.com --require-approval never',
      );
    }
  });

  it('when --domain and --hosted-zone-id are given without a certificate, then they reach the CDK and the stack makes its own', async () => {
    const box = await sandbox(allStubs());
    const domain = ['--domain', 'goals.example.com', '--hosted-zone-id', 'Z0123456789ABCDEFGHIJ'];
    const { out, code } = await cli(box, 'deploy', [...DRY_RUN_DEV, ...domain]);
    expect(code).toBe(0);
    const cdkDeploys = out.filter((line) => line.includes('npx --no cdk deploy'));
    expect(cdkDeploys).toHaveLength(2);
    for (const line of cdkDeploys) {
      expect(line).toMatch(/-c domain=goals\.example\.com -c hostedZoneId=Z0123456789ABCDEFGHIJ$/);
    }
  });

  it.each<[string, string[], Record<string, string>]>([
    ['--region eu-west-1', ['--region', 'eu-west-1'], {}],
    ['AWS_REGION=eu-west-1', [], { AWS_REGION: 'eu-west-1' }],
  ])(
    'when there is no --domain and the region is not us-east-1 (%s), then it stops before any AWS call and says to pass a domain',
    async (_how, args, env) => {
      const box = await sandbox(allStubs());
      const result = await cli(box, 'deploy', [...SSH, '--env', 'dev', ...args], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'error: without --domain the site is served by CloudFront, which must be deployed in us-east-1, ' +
          'not eu-west-1: pass --domain <name> --hosted-zone-id <id> to serve it from eu-west-1, or --region us-east-1',
      );
      expect(
        result.calls.filter((call) => call.startsWith('aws') || call.startsWith('npx')),
      ).toEqual([]);
    },
  );

  it('when PATH has neither docker nor the AWS CLI, then it names each one and how to install it, and stops', async () => {
    const box = await sandbox({});
    const result = await cli(box, 'deploy', DRY_RUN_DEV);
    expect(result.code).toBe(1);
    expect(result.out).toContainEqual(
      expect.stringMatching(/^ {2}missing: docker: not found on PATH; install Docker/),
    );
    expect(result.out).toContainEqual(
      expect.stringMatching(/^ {2}missing: AWS CLI: not found on PATH; install the AWS CLI/),
    );
    expect(result.stderr).toBe('error: 2 prerequisites missing: docker, AWS CLI');
    expect(result.stdout).not.toContain('[2/6]');
  });

  it('when no region is given anywhere, then it asks for one', async () => {
    const box = await sandbox(allStubs());
    const result = await cli(box, 'deploy', [...SSH, '--env', 'dev', '--dry-run']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('missing: AWS region: none set; pass --region');
    // `aws configure get region` is a local read, so even a dry run asks it.
    expect(result.calls).toEqual(['aws configure get region']);
  });

  it('when AWS_REGION is set, then it is the region used', async () => {
    const box = await sandbox(allStubs());
    const domain = ['--domain', 'goals.example.com', '--hosted-zone-id', 'Z0123456789'];
    const result = await cli(box, 'deploy', [...SSH, ...domain, '--env', 'dev', '--dry-run'], {
      AWS_REGION: 'ap-southeast-2',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('<account-id>.dkr.ecr.ap-southeast-2.amazonaws.com');
  });
});

describe('npm run deploy (real commands, stand-ins for docker, aws and npx)', () => {
  it('when the Docker daemon is down and AWS has no credentials, then each is reported with what to do, and nothing deploys', async () => {
    const box = await sandbox({
      docker: `[ "$1" = info ] && { echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1; }\nexit 0`,
      aws: `echo "Unable to locate credentials. You can configure credentials by running \\"aws configure\\"." >&2\nexit 255`,
      npx: NPX_LOGS_DIRECTORY,
    });
    const result = await cli(box, 'deploy', DEV);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'missing: docker daemon: not reachable (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?)',
    );
    expect(result.stdout).toContain(
      'missing: AWS credentials: none usable (Unable to locate credentials.',
    );
    expect(result.stderr).toBe('error: 2 prerequisites missing: docker daemon, AWS credentials');
    expect(result.calls.filter((call) => call.startsWith('npx'))).toEqual([]);
  });

  it('when the account has no CDK bootstrap stack, then it prints the bootstrap command for that account and region', async () => {
    const box = await sandbox({
      docker: HEALTHY_DOCKER,
      aws: `case "$1" in
  sts) echo 123456789012 ;;
  ssm) echo "An error occurred (ParameterNotFound) when calling the GetParameter operation: " >&2; exit 254 ;;
esac`,
      npx: NPX_LOGS_DIRECTORY,
    });
    const result = await cli(box, 'deploy', DEV);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'missing: CDK bootstrap: account 123456789012 is not bootstrapped in us-east-1; run `npx cdk bootstrap aws://123456789012/us-east-1` once',
    );
  });

  it('when everything is in place, then it runs each step in order, passes the ECR password only through stdin, and prints the URL', async () => {
    const box = await sandbox(allStubs());
    const result = await cli(box, 'deploy', DEV);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
    const infra = join(box.repo, 'infra');
    // Both ends of the login pipe start together, so their two log lines may come in either order.
    const pipe = result.calls.slice(10, 12).sort();
    expect(pipe).toEqual([
      'aws ecr get-login-password --region us-east-1',
      `docker login --username AWS --password-stdin ${registry}`,
    ]);
    expect([...result.calls.slice(0, 10), ...result.calls.slice(12)]).toEqual([
      'docker buildx version',
      'docker info --format {{.ServerVersion}}',
      'aws sts get-caller-identity --query Account --output text --region us-east-1',
      'aws ssm get-parameter --name /cdk-bootstrap/hnb659fds/version --query Parameter.Value --output text --region us-east-1',
      `npx --no cdk deploy goal-tracker-registry --exclusively -c env=dev -c imageTag=${box.commit} -c sshCidr=203.0.113.7/32`,
      `npx-cwd ${infra}`,
      `aws ecr describe-images --repository-name goal-tracker-backend --image-ids imageTag=${box.commit} --query imageDetails[0].imageDigest --output text --region us-east-1`,
      `aws ecr describe-images --repository-name goal-tracker-frontend --image-ids imageTag=${box.commit} --query imageDetails[0].imageDigest --output text --region us-east-1`,
      expect.stringMatching(
        new RegExp(
          `^docker buildx build --platform linux/amd64 --target api --tag ${registry}/goal-tracker-backend:${box.commit} --label org.opencontainers.image.revision=[0-9a-f]{40} --load \\.$`,
        ),
      ),
      expect.stringMatching(
        /^docker buildx build --platform linux\/amd64 --target web --tag \S+\/goal-tracker-frontend:/,
      ),
      'docker-login-stdin s3cr3t-ecr-token',
      `docker push ${registry}/goal-tracker-backend:${box.commit}`,
      `docker push ${registry}/goal-tracker-frontend:${box.commit}`,
      `npx --no cdk deploy goal-tracker-dev --exclusively -c env=dev -c imageTag=${box.commit} -c sshCidr=203.0.113.7/32`,
      `npx-cwd ${infra}`,
      "aws cloudformation describe-stacks --stack-name goal-tracker-dev --query Stacks[0].Outputs[?OutputKey=='ApplicationUrl'].OutputValue | [0] --output text --region us-east-1",
    ]);
    expect(result.stdout).not.toContain('s3cr3t-ecr-token');
    expect(result.out.at(-1)).toBe(
      'Application URL: http://goal-tracker-dev-1234.us-east-1.elb.amazonaws.com',
    );
    expect(result.stdout).toContain('ok: AWS account 123456789012, region us-east-1');
    expect(result.stdout).toContain('ok: CDK bootstrap version 21');
  });

  it('when both images of the commit are already in ECR, then it builds and pushes nothing and says so, and still deploys the stack', async () => {
    const box = await sandbox({
      docker: HEALTHY_DOCKER,
      aws: `[ "$2" = describe-images ] && { echo sha256:0123abcd; exit 0; }\n${HEALTHY_AWS}`,
      npx: NPX_LOGS_DIRECTORY,
    });
    const result = await cli(box, 'deploy', DEV);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.calls.filter((call) => call.startsWith('docker'))).toEqual([
      'docker buildx version',
      'docker info --format {{.ServerVersion}}',
    ]);
    expect(result.calls).not.toContain('aws ecr get-login-password --region us-east-1');
    for (const repository of ['goal-tracker-backend', 'goal-tracker-frontend']) {
      expect(result.stdout).toContain(
        `skipped: ${repository}:${box.commit} is already in ECR, so it is not built again`,
      );
    }
    expect(result.stdout).toContain(
      `skipped: both images are already in ECR with tag ${box.commit}`,
    );
    expect(result.calls).toContain(
      `npx --no cdk deploy goal-tracker-dev --exclusively -c env=dev -c imageTag=${box.commit} -c sshCidr=203.0.113.7/32`,
    );
  });

  it('when only the backend image is in ECR (an earlier deploy stopped half-way), then only the frontend is built and pushed', async () => {
    const box = await sandbox({
      docker: HEALTHY_DOCKER,
      aws: `[ "$4" = goal-tracker-backend ] && { echo sha256:0123abcd; exit 0; }\n${HEALTHY_AWS}`,
      npx: NPX_LOGS_DIRECTORY,
    });
    const result = await cli(box, 'deploy', DEV);
    expect(result.code).toBe(0);
    const docker = result.calls.filter(
      (call) => call.startsWith('docker buildx build') || call.startsWith('docker push'),
    );
    expect(docker).toEqual([
      expect.stringMatching(
        /^docker buildx build .*--target web --tag \S+\/goal-tracker-frontend:/,
      ),
      `docker push 123456789012.dkr.ecr.us-east-1.amazonaws.com/goal-tracker-frontend:${box.commit}`,
    ]);
    expect(result.stdout).toContain(
      `skipped: goal-tracker-backend:${box.commit} is already in ECR`,
    );
  });

  it('when ECR cannot say whether an image is there, then it stops with the reason before building', async () => {
    const box = await sandbox({
      docker: HEALTHY_DOCKER,
      aws: `[ "$2" = describe-images ] && { echo "An error occurred (AccessDeniedException) when calling the DescribeImages operation: not authorized" >&2; exit 254; }\n${HEALTHY_AWS}`,
      npx: NPX_LOGS_DIRECTORY,
    });
    const result = await cli(box, 'deploy', DEV);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: cannot tell whether goal-tracker-backend:${box.commit} is already in ECR: An error occurred (AccessDeniedException) when calling the DescribeImages operation: not authorized`,
    );
    expect(result.calls.some((call) => call.startsWith('docker buildx build'))).toBe(false);
  });

  it('when a push fails, then it stops with the failing command and does not deploy the stack', async () => {
    const box = await sandbox({
      docker: `[ "$1" = push ] && exit 1\n[ "$1" = login ] && /bin/cat > /dev/null\n[ "$1" = info ] && echo 28.2.2\nexit 0`,
      aws: HEALTHY_AWS,
      npx: NPX_LOGS_DIRECTORY,
    });
    const result = await cli(box, 'deploy', DEV);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: command failed with exit code 1: docker push 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/goal-tracker-backend:/,
    );
    expect(result.calls.some((call) => call.includes('cdk deploy goal-tracker-dev'))).toBe(false);
    expect(result.stdout).not.toContain('[5/6]');
  });
});

describe('npm run deploy and destroy against another endpoint (a moto rehearsal)', () => {
  const ENDPOINT = 'http://localhost:5000';
  // The CDK has no --endpoint-url: the stand-in records what it would read instead.
  const NPX_LOGS_ENDPOINT =
    'printf "npx-endpoint %s\\n" "$AWS_ENDPOINT_URL" >> "$STUB_LOG"\nexit 0';
  const stubs = () => ({ docker: HEALTHY_DOCKER, aws: HEALTHY_AWS, npx: NPX_LOGS_ENDPOINT });

  function expectEveryCallAt(calls: string[], endpoint: string) {
    const aws = calls.filter((call) => call.startsWith('aws '));
    expect(aws.length).toBeGreaterThanOrEqual(6);
    for (const call of aws) expect(call).toMatch(new RegExp(` --endpoint-url ${endpoint}$`));
    const cdk = calls.filter((call) => call.startsWith('npx-endpoint'));
    expect(cdk).toEqual([`npx-endpoint ${endpoint}`, `npx-endpoint ${endpoint}`]);
  }

  it('when --endpoint-url is given, then every aws call and both CDK deploys go there', async () => {
    const box = await sandbox(stubs());
    const result = await cli(box, 'deploy', [...DEV, '--endpoint-url', ENDPOINT]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expectEveryCallAt(result.calls, ENDPOINT);
  });

  it('when AWS_ENDPOINT_URL is set, then it is the endpoint, and --endpoint-url wins over it', async () => {
    const fromEnv = await sandbox(stubs());
    const result = await cli(fromEnv, 'deploy', DEV, { AWS_ENDPOINT_URL: ENDPOINT });
    expect(result.code).toBe(0);
    expectEveryCallAt(result.calls, ENDPOINT);

    const both = await sandbox(stubs());
    const other = 'http://localhost:5001';
    const overridden = await cli(both, 'deploy', [...DEV, '--endpoint-url', other], {
      AWS_ENDPOINT_URL: ENDPOINT,
    });
    expect(overridden.code).toBe(0);
    expectEveryCallAt(overridden.calls, other);
  });

  it('when destroy is given --endpoint-url, then its aws call and cdk destroy go there', async () => {
    const box = await sandbox(stubs());
    const result = await cli(box, 'destroy', [
      '--env',
      'dev',
      '--yes',
      '--region',
      'us-east-1',
      '--endpoint-url',
      ENDPOINT,
    ]);
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([
      `aws sts get-caller-identity --query Account --output text --region us-east-1 --endpoint-url ${ENDPOINT}`,
      'npx --no cdk destroy goal-tracker-dev --exclusively -c env=dev -c sshCidr=192.0.2.1/32 --force',
      `npx-endpoint ${ENDPOINT}`,
    ]);
  });
});

describe('npm run destroy', () => {
  it('when run for dev, then it deletes only the dev stack, needing no docker', async () => {
    const box = await sandbox({ aws: HEALTHY_AWS });
    const result = await cli(box, 'destroy', [
      '--env',
      'dev',
      '--dry-run',
      '--region',
      'us-east-1',
    ]);
    expect(result.code).toBe(0);
    const commands = result.out.filter((line) => line.includes('cdk destroy'));
    expect(commands).toEqual([
      '  [dry-run] $ (in infra) AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 npx --no cdk destroy goal-tracker-dev --exclusively -c env=dev -c sshCidr=192.0.2.1/32',
    ]);
  });

  it('when --with-registry and --yes are given, then the registry goes after the environment, without questions', async () => {
    const box = await sandbox({ aws: HEALTHY_AWS, npx: NPX_LOGS_DIRECTORY });
    const result = await cli(box, 'destroy', [
      '--env',
      'prod',
      '--with-registry',
      '--yes',
      '--region',
      'us-east-1',
    ]);
    expect(result.code).toBe(0);
    expect(result.calls.filter((call) => call.startsWith('npx --no'))).toEqual([
      'npx --no cdk destroy goal-tracker-prod --exclusively -c env=prod -c sshCidr=192.0.2.1/32 --force',
      'npx --no cdk destroy goal-tracker-registry --exclusively -c env=prod -c sshCidr=192.0.2.1/32 --force',
    ]);
  });

  it('when the environment is unknown, then it exits 2 without touching anything', async () => {
    const box = await sandbox({ aws: HEALTHY_AWS });
    const result = await cli(box, 'destroy', ['--env', 'qa']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown environment "qa"');
    expect(result.calls).toEqual([]);
  });
});

describe('the deploy and destroy scripts', () => {
  it.each([
    ['scripts/deploy/deploy.ts', 'usage: npm run deploy'],
    ['scripts/deploy/destroy.ts', 'usage: npm run destroy'],
  ])('when %s is run with --help, then it prints its usage and exits 0', async (script, usage) => {
    const { stdout } = await execFile(process.execPath, ['--import', 'tsx', script, '--help'], {
      cwd: REPOSITORY_ROOT,
    });
    expect(stdout).toContain(usage);
  });

  it('when scripts/deploy/deploy.ts is given an unknown environment, then the process exits 2', async () => {
    const failure = await execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/deploy/deploy.ts', '--env', 'qa'],
      {
        cwd: REPOSITORY_ROOT,
      },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain('unknown environment "qa"');
  });
});

describe('the AWS names deploy uses', () => {
  it('when deploy runs for each environment, then its stacks and ECR repositories are the ones the CDK app creates', async () => {
    const { app, registry } = createGoalTrackerApp({ context: { sshCidr: '203.0.113.0/24' } });
    const appStacks = app.node.children
      .filter((child): child is Stack => child instanceof Stack)
      .map((stack) => stack.stackName);
    const appRepositories = registry.node
      .findAll()
      .filter((child): child is CfnRepository => child instanceof CfnRepository)
      .map((repository) => repository.repositoryName);

    const deployed = new Set<string>();
    const pushed = new Set<string>();
    for (const env of ENVIRONMENT_NAMES) {
      const box = await sandbox(allStubs());
      const args = [...SSH, '--env', env, '--region', 'us-east-1', '--dry-run'];
      const { code, out, stderr } = await cli(box, 'deploy', args);
      expect(code, stderr).toBe(0);
      for (const line of out) {
        const stack = /npx --no cdk deploy (\S+)/.exec(line)?.[1];
        if (stack) deployed.add(stack);
        const repository = /docker push '[^/]+\/([^:]+):/.exec(line)?.[1];
        if (repository) pushed.add(repository);
      }
    }
    expect([...deployed].sort()).toEqual([...appStacks].sort());
    expect([...pushed].sort()).toEqual([...appRepositories].sort());
  });
});
