import { join } from 'node:path';
// The names CloudFormation and ECR know: defined once, by the CDK app that creates them.
import {
  CLOUDFRONT_REGION,
  REGISTRY_STACK_NAME,
  environmentStackName,
  repositoryName,
} from '../../infra/lib/naming.js';
import type { EnvironmentName } from '../../infra/config/types.js';
import type { DeployOptions, DestroyOptions, StackContext } from './options.js';
import {
  type AwsTarget,
  type DeployContext,
  DeployError,
  awsCommand,
  checkPrerequisites,
  firstLine,
  imageTag,
  readGitState,
} from './prerequisites.js';
import type { Command } from './runner.js';

/**
 * The two images, each the target of the root Dockerfile named after its tier (built from the
 * repository root), and their ECR repositories.
 */
export const IMAGES = [
  { tier: 'api', repository: repositoryName('backend') },
  { tier: 'web', repository: repositoryName('frontend') },
] as const;

/** TEST-NET-1 (RFC 5737): reaches nobody. */
const PLACEHOLDER_SSH_CIDR = '192.0.2.1/32';

function refuseRegionWithoutDomain(region: string): string | undefined {
  return region === CLOUDFRONT_REGION
    ? undefined
    : `without --domain the site is served by CloudFront, which must be deployed in ${CLOUDFRONT_REGION}, ` +
        `not ${region}: pass --domain <name> --hosted-zone-id <id> to serve it from ${region}, ` +
        `or --region ${CLOUDFRONT_REGION}`;
}

/** The instances are x86_64 (t3/t2), whatever machine builds the images. */
export const PLATFORM = 'linux/amd64';

export function registryHost({ account, region }: AwsTarget): string {
  return `${account}.dkr.ecr.${region}.amazonaws.com`;
}

function contextArgs(env: EnvironmentName, context: StackContext, tag?: string): string[] {
  const pairs: [string, string | undefined][] = [
    ['env', env],
    ['imageTag', tag],
    ['sshCidr', context.sshCidr],
    ['domain', context.domain],
    ['hostedZoneId', context.hostedZoneId],
    ['certificateArn', context.certificateArn],
    ['alarmEmail', context.alarmEmail],
  ];
  return pairs.flatMap(([key, value]) => (value === undefined ? [] : ['-c', `${key}=${value}`]));
}

/**
 * `cdk deploy` or `cdk destroy` of one stack alone (`--exclusively`: not the stacks it depends
 * on), with the CDK CLI from this checkout (`--no`: never let npx fetch some other version).
 */
function cdkStack(
  context: DeployContext,
  region: string,
  verb: 'deploy' | 'destroy',
  stackName: string,
  flags: string[],
): Command {
  return {
    program: 'npx',
    args: ['--no', 'cdk', verb, stackName, '--exclusively', ...flags],
    cwd: join(context.root, 'infra'),
    env: {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      // The CDK CLI has no --endpoint-url; it reads this, as the SDK it is built on does.
      ...(context.endpointUrl === undefined ? {} : { AWS_ENDPOINT_URL: context.endpointUrl }),
    },
  };
}

type ImageReference = (typeof IMAGES)[number] & { reference: string };

/**
 * The images whose tag is not in ECR yet. The repositories' tags are immutable, so pushing
 * one again fails: a redeploy of the same commit must build and push only what is missing.
 * A dry run shows the questions and answers as for a first deploy.
 */
async function imagesNotInRegistry(
  context: DeployContext,
  region: string,
  images: ImageReference[],
  tag: string,
): Promise<ImageReference[]> {
  const missing: ImageReference[] = [];
  for (const image of images) {
    const found = await context.runner.ask(
      awsCommand(context, region, [
        'ecr',
        'describe-images',
        '--repository-name',
        image.repository,
        '--image-ids',
        `imageTag=${tag}`,
        '--query',
        'imageDetails[0].imageDigest',
        '--output',
        'text',
      ]),
      '<image-not-found>',
    );
    if (context.runner.dryRun || found.stderr.includes('ImageNotFoundException'))
      missing.push(image);
    else if (found.code !== 0) {
      throw new DeployError(
        `cannot tell whether ${image.repository}:${tag} is already in ECR: ${firstLine(found.stderr)}`,
      );
    }
  }
  return missing;
}

function steps(print: (line: string) => void, total: number) {
  let current = 0;
  return (title: string) => {
    current += 1;
    print(`[${current}/${total}] ${title}`);
  };
}

function elapsed(since: number): string {
  const seconds = Math.round((Date.now() - since) / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
}

/**
 * Deploys one environment: prerequisites, registry, images tagged with the commit, push,
 * the environment's stack with that tag (the Auto Scaling groups roll to it), and its URL.
 */
export async function deploy(
  context: DeployContext,
  options: DeployOptions,
  now = new Date(),
): Promise<void> {
  const { runner, print } = context;
  const started = Date.now();
  const stack = environmentStackName(options.env);
  const step = steps(print, 6);
  print(
    `Deploying Goal Tracker to ${options.env}` +
      (runner.dryRun ? ' (dry run: commands are printed, none is run)' : ''),
  );

  step('Checking prerequisites');
  const git = await readGitState(context);
  if (git.dirty && !options.allowDirty) {
    throw new DeployError(
      'the working tree has uncommitted changes, so the images would not match their tag ' +
        `(commit ${git.commit}). Commit or stash them, or pass --allow-dirty to deploy them anyway.`,
    );
  }
  const tag = imageTag(git, now);
  print(`  ok: git commit ${git.commit}${git.dirty ? ' with uncommitted changes' : ''}`);
  const target = await checkPrerequisites(context, {
    docker: true,
    bootstrap: true,
    region: options.region,
    refuseRegion: options.context.domain === undefined ? refuseRegionWithoutDomain : undefined,
  });
  const approval = options.yes ? ['--require-approval', 'never'] : [];
  // Both deploys pass the same context, so the CDK app synthesizes the same way each time.
  const flags = [...contextArgs(options.env, options.context, tag), ...approval];
  const cdkDeploy = (stackName: string) =>
    runner.execute(cdkStack(context, target.region, 'deploy', stackName, flags));

  step(`Creating or updating the image registry (${REGISTRY_STACK_NAME})`);
  await cdkDeploy(REGISTRY_STACK_NAME);

  const registry = registryHost(target);
  const references = IMAGES.map((image) => ({
    ...image,
    reference: `${registry}/${image.repository}:${tag}`,
  }));
  step(`Building the images for ${PLATFORM}, tagged ${tag}`);
  const missing = await imagesNotInRegistry(context, target.region, references, tag);
  for (const image of references.filter((image) => !missing.includes(image))) {
    print(`  skipped: ${image.repository}:${tag} is already in ECR, so it is not built again`);
  }
  for (const image of missing) {
    await runner.execute({
      program: 'docker',
      args: [
        'buildx',
        'build',
        '--platform',
        PLATFORM,
        '--target',
        image.tier,
        '--tag',
        image.reference,
        '--label',
        `org.opencontainers.image.revision=${git.revision}`,
        '--load',
        '.',
      ],
    });
  }

  step(`Pushing the images to ${registry}`);
  if (missing.length === 0) {
    print(`  skipped: both images are already in ECR with tag ${tag}`);
  } else {
    await runner.execute({
      program: 'docker',
      args: ['login', '--username', 'AWS', '--password-stdin', registry],
      stdinFrom: awsCommand(context, target.region, ['ecr', 'get-login-password']),
    });
    for (const image of missing) {
      await runner.execute({ program: 'docker', args: ['push', image.reference] });
    }
  }

  step(`Deploying ${stack} with image tag ${tag} (the Auto Scaling groups roll to it)`);
  await cdkDeploy(stack);

  step('Reading the application URL');
  const url = await runner.ask(
    awsCommand(context, target.region, [
      'cloudformation',
      'describe-stacks',
      '--stack-name',
      stack,
      '--query',
      "Stacks[0].Outputs[?OutputKey=='ApplicationUrl'].OutputValue | [0]",
      '--output',
      'text',
    ]),
    '<ApplicationUrl>',
  );
  if (url.code !== 0 || !url.stdout || url.stdout === 'None') {
    throw new DeployError(
      `${stack} deployed, but its ApplicationUrl output could not be read: ${url.stderr.trim() || 'no such output'}`,
    );
  }
  print(
    runner.dryRun
      ? `Dry run of deploying ${tag} to ${options.env} finished: nothing was run.`
      : `Deployed ${tag} to ${options.env} in ${elapsed(started)}.`,
  );
  print(`Application URL: ${url.stdout}`);
}

/** Deletes one environment's stack and, when asked, the shared image registry. */
export async function destroy(context: DeployContext, options: DestroyOptions): Promise<void> {
  const { runner, print } = context;
  const stack = environmentStackName(options.env);
  const step = steps(print, options.withRegistry ? 3 : 2);
  print(
    `Deleting Goal Tracker's ${options.env} environment` +
      (runner.dryRun ? ' (dry run: commands are printed, none is run)' : ''),
  );

  step('Checking prerequisites');
  const target = await checkPrerequisites(context, {
    docker: false,
    bootstrap: false,
    region: options.region,
  });
  const force = options.yes ? ['--force'] : [];
  // The CDK app validates sshCidr whenever it synthesizes, deletes included, though a delete
  // never uses it; a documentation-range address satisfies it when none is given.
  const stackContext = { sshCidr: PLACEHOLDER_SSH_CIDR, ...options.context };
  const flags = [...contextArgs(options.env, stackContext), ...force];
  const cdkDestroy = (stackName: string) =>
    runner.execute(cdkStack(context, target.region, 'destroy', stackName, flags));

  step(`Deleting ${stack}`);
  await cdkDestroy(stack);
  if (options.withRegistry) {
    step(`Deleting the image registry (${REGISTRY_STACK_NAME}), shared by every environment`);
    await cdkDestroy(REGISTRY_STACK_NAME);
  }
  print(
    `${runner.dryRun ? 'Dry run of deleting' : 'Deleted'} ${stack}` +
      `${options.withRegistry ? ` and ${REGISTRY_STACK_NAME}` : ''}` +
      (runner.dryRun ? ' finished: nothing was run.' : '.'),
  );
}
