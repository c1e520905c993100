import { execFile as execFileCallback } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDatabaseTier } from './support/database-tier.js';

const execFile = promisify(execFileCallback);

let clone: string;

const readJson = async <T>(path: string) => JSON.parse(await readFile(path, 'utf8')) as T;

/**
 * A clone has no build output. Installing takes minutes, so the clone borrows this checkout's
 * installed packages one by one, except its own workspaces, which point at the clone's
 * folders: nothing of this checkout's `dist/` can stand in for a missing build.
 */
async function borrowNodeModules(): Promise<void> {
  const installed = join(REPOSITORY_ROOT, 'node_modules');
  const modules = join(clone, 'node_modules');
  await mkdir(join(modules, '@goal-tracker'), { recursive: true });
  for (const entry of await readdir(installed)) {
    if (entry === '@goal-tracker') continue;
    await symlink(join(installed, entry), join(modules, entry));
  }
  const { workspaces } = await readJson<{ workspaces: string[] }>(join(clone, 'package.json'));
  for (const folder of workspaces) {
    const { name } = await readJson<{ name: string }>(join(clone, folder, 'package.json'));
    await symlink(join(clone, folder), join(modules, name));
  }
}

beforeAll(async () => {
  const parent = await mkdtemp(join(tmpdir(), 'goal-tracker-clone-'));
  clone = join(parent, 'repo');
  // What is committed, as someone else would get it.
  await execFile('git', ['clone', '--quiet', '--no-hardlinks', REPOSITORY_ROOT, clone]);
  await borrowNodeModules();
}, 120_000);

afterAll(async () => {
  if (clone) await rm(join(clone, '..'), { recursive: true, force: true });
});

describe('a fresh clone, before any build', () => {
  it.each([
    ['bench', 'Usage: npm run bench'],
    ['drill', 'Usage: npm run drill'],
  ])(
    'when `npm run %s -- --help` runs, then it prints its usage and exits 0',
    async (script, usage) => {
      const { stdout } = await execFile('npm', ['run', '--silent', script, '--', '--help'], {
        cwd: clone,
        env: { ...process.env, npm_config_update_notifier: 'false' },
      });
      expect(stdout).toContain(usage);
    },
  );

  it("when npm start's db tier runs, then it needs no build: it creates the database and prints its URL", async () => {
    const dataDir = join(clone, '..', 'data');
    // PostgreSQL runs as the postgres user when the tests run as root: it must enter the path.
    await chmod(join(clone, '..'), 0o755);
    const tier = await startDatabaseTier(clone, dataDir);
    try {
      expect(tier.url).toContain(encodeURIComponent(join(dataDir, 'postgres')));
    } finally {
      expect(await tier.stop()).toBe(0);
    }
  }, 60_000);

  it('when cloned, then no workspace has build output to lean on', async () => {
    const entries = await readdir(join(clone, 'packages', 'test-support'));
    expect(entries).not.toContain('dist');
  });
});
