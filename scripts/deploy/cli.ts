import {
  DEPLOY_USAGE,
  DESTROY_USAGE,
  UsageError,
  parseDeployArgs,
  parseDestroyArgs,
} from './options.js';
import { deploy, destroy } from './steps.js';
import { type DeployContext, DeployError } from './prerequisites.js';
import { CommandFailedError, createRunner } from './runner.js';

export interface CliIo {
  print: (line: string) => void;
  printError: (line: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const defaultIo: CliIo = {
  print: (line) => console.log(line),
  printError: (line) => console.error(line),
  env: process.env,
  cwd: process.cwd(),
};

async function contextFor(
  { dryRun, endpointUrl }: { dryRun: boolean; endpointUrl?: string | undefined },
  io: CliIo,
): Promise<DeployContext> {
  const probe = createRunner({ dryRun, cwd: io.cwd, print: io.print, env: io.env });
  const top = await probe.inspect({ program: 'git', args: ['rev-parse', '--show-toplevel'] });
  if (top.code !== 0) {
    throw new DeployError(`${io.cwd} is not inside a git checkout of this repository`);
  }
  return {
    runner: createRunner({ dryRun, cwd: top.stdout, print: io.print, env: io.env }),
    print: io.print,
    root: top.stdout,
    env: io.env,
    endpointUrl: endpointUrl ?? (io.env.AWS_ENDPOINT_URL || undefined),
  };
}

/** Runs `deploy` or `destroy` with its arguments; resolves with the process exit code. */
export async function runCli(
  command: 'deploy' | 'destroy',
  argv: string[],
  io: CliIo = defaultIo,
): Promise<number> {
  const usage = command === 'deploy' ? DEPLOY_USAGE : DESTROY_USAGE;
  try {
    if (command === 'deploy') {
      const options = parseDeployArgs(argv);
      if (options) await deploy(await contextFor(options, io), options);
      else io.print(usage);
    } else {
      const options = parseDestroyArgs(argv);
      if (options) await destroy(await contextFor(options, io), options);
      else io.print(usage);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.printError(`error: ${error.message}\n\n${usage}`);
      return 2;
    }
    if (error instanceof DeployError || error instanceof CommandFailedError) {
      io.printError(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
