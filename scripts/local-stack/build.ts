import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';

const TSC = join(REPOSITORY_ROOT, 'node_modules', '.bin', 'tsc');

/** Runs a build step with its output on this terminal; resolves whether it succeeded. */
function run(command: string, args: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: REPOSITORY_ROOT, stdio: 'inherit' });
    child.once('exit', (code) => resolve(code === 0));
    child.once('error', () => resolve(false));
  });
}

/** `tsc -b` of these projects. */
export function build(projects: readonly string[]): Promise<boolean> {
  return run(TSC, ['-b', ...projects]);
}

/** The page's scripts: type-checked, then bundled with the shared modules they import. */
export function buildPageScripts(): Promise<boolean> {
  return run('npm', ['run', '--silent', 'build:client', '-w', '@goal-tracker/web']);
}
