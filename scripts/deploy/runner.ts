import { type ChildProcess, spawn } from 'node:child_process';
import { relative } from 'node:path';

/** One program invocation, never a shell string, so arguments need no escaping to be safe. */
export interface Command {
  program: string;
  args: readonly string[];
  /** Working directory; the repository root when absent. */
  cwd?: string;
  /** Variables added to the inherited environment (and shown when the command is printed). */
  env?: Readonly<Record<string, string>>;
  /** A command whose standard output becomes this one's standard input (`a | b`). */
  stdinFrom?: Command;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the deploy's commands. The dry run is the same code path with a runner that prints
 * instead of running, so what a dry run shows is exactly what a real run would do.
 */
export interface Runner {
  readonly dryRun: boolean;
  /** Changes something (build, push, deploy): output streams to the terminal; throws on failure. */
  execute(command: Command): Promise<void>;
  /**
   * Asks a question of Docker or AWS without changing anything and never throws. A dry run
   * prints the command and answers `dryRunAnswer` instead.
   */
  ask(command: Command, dryRunAnswer: string): Promise<CommandResult>;
  /** Reads local state (git) that even a dry run needs; always runs. */
  inspect(command: Command): Promise<CommandResult>;
}

export class CommandFailedError extends Error {
  constructor(
    readonly command: Command,
    readonly code: number,
  ) {
    super(`command failed with exit code ${code}: ${formatCommand(command)}`);
    this.name = 'CommandFailedError';
  }
}

const SAFE_WORD = /^[\w@%+=:,./-]+$/;

function quote(word: string): string {
  return SAFE_WORD.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The command as a line a user could paste into a POSIX shell. */
export function formatCommand(command: Command): string {
  const env = Object.entries(command.env ?? {}).map(([key, value]) => `${key}=${quote(value)}`);
  const line = [...env, command.program, ...command.args].map((word, index) =>
    index < env.length ? word : quote(word),
  );
  const own = line.join(' ');
  return command.stdinFrom ? `${formatCommand(command.stdinFrom)} | ${own}` : own;
}

export interface RunnerOptions {
  dryRun: boolean;
  /** Directory commands run in unless they name their own. */
  cwd: string;
  /** Where the printed commands go. */
  print: (line: string) => void;
  /** The environment commands inherit (PATH is looked up in it); `process.env` when absent. */
  env?: NodeJS.ProcessEnv;
}

export function createRunner({ dryRun, cwd, print, env = process.env }: RunnerOptions): Runner {
  const show = (command: Command) => {
    const where = command.cwd && command.cwd !== cwd ? `(in ${relative(cwd, command.cwd)}) ` : '';
    print(`  ${dryRun ? '[dry-run] ' : ''}$ ${where}${formatCommand(command)}`);
  };
  const options = (command: Command) => ({
    cwd: command.cwd ?? cwd,
    env: { ...env, ...command.env },
  });

  return {
    dryRun,
    async execute(command) {
      show(command);
      if (dryRun) return;
      const code = await stream(command, options);
      if (code !== 0) throw new CommandFailedError(command, code);
    },
    async ask(command, dryRunAnswer) {
      show(command);
      if (dryRun) return { code: 0, stdout: dryRunAnswer, stderr: '' };
      return capture(command, options);
    },
    inspect: (command) => capture(command, options),
  };
}

type SpawnOptions = (command: Command) => { cwd: string; env: NodeJS.ProcessEnv };

/** Resolves with the exit code; a program that cannot start counts as 127, as in a shell. */
async function stream(command: Command, options: SpawnOptions): Promise<number> {
  const child = spawn(command.program, command.args, {
    ...options(command),
    stdio: [command.stdinFrom ? 'pipe' : 'inherit', 'inherit', 'inherit'],
  });
  let feederExit: Promise<number> = Promise.resolve(0);
  if (command.stdinFrom && child.stdin) {
    // The feeder's output (an ECR password, say) goes straight into the pipe, never to the terminal.
    const feeder = spawn(command.stdinFrom.program, command.stdinFrom.args, {
      ...options(command.stdinFrom),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    feeder.stdout.pipe(child.stdin);
    child.stdin.on('error', () => undefined);
    feederExit = exitCode(feeder);
  }
  const [feederCode, code] = await Promise.all([feederExit, exitCode(child)]);
  return feederCode !== 0 ? feederCode : code;
}

function exitCode(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.on('error', () => resolve(127));
    child.on('close', (code) => resolve(code ?? 1));
  });
}

function capture(command: Command, options: SpawnOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command.program, command.args, {
      ...options(command),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => resolve({ code: 127, stdout, stderr: error.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: stdout.trim(), stderr }));
  });
}
