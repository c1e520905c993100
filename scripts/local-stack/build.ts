import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';

const TSC = join(REPOSITORY_ROOT, 'node_modules', '.bin', 'tsc');

/** `tsc -b` of these projects, its output on this terminal; resolves whether it succeeded. */
export function build(projects: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(TSC, ['-b', ...projects], { cwd: REPOSITORY_ROOT, stdio: 'inherit' });
    child.once('exit', (code) => resolve(code === 0));
    child.once('error', () => resolve(false));
  });
}
