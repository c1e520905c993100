import { join } from 'node:path';
import { fromSource, logLines, spawnProcess, waitUntil } from '@goal-tracker/test-support/process';
import { describe, expect, it } from 'vitest';

const CRASHING_SERVER = join(import.meta.dirname, 'fixtures/crashing-server.ts');
const SLOW_STARTING_SERVER = join(import.meta.dirname, 'fixtures/slow-starting-server.ts');

describe('serveWithWorkers', () => {
  it('when workers keep dying after coming up, then each is replaced after a growing delay, and the fourth death in a row of one stops the primary with exit code 1', async () => {
    const primary = spawnProcess({
      args: fromSource(CRASHING_SERVER),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
    });
    expect(await primary.exited, primary.output()).toEqual({ code: 1, signal: null });
    const deaths = logLines(primary, 'worker exited unexpectedly');
    expect(deaths.length).toBeGreaterThanOrEqual(4);
    expect(deaths.every((death) => death.code === 3)).toBe(true);
    const delays = primary
      .output()
      .split('\n')
      .flatMap((line) => /starting a new worker in ([\d.]+) s/.exec(line)?.[1] ?? []);
    expect(delays).toEqual(expect.arrayContaining(['0.05', '0.1', '0.15']));
    expect(logLines(primary, 'workers keep dying; stopping')).toHaveLength(1);
    expect(logLines(primary, 'shutting down')[0]).toMatchObject({ reason: 'workers keep dying' });
  }, 60_000);

  it('when SIGTERM arrives while a worker is still starting, then the primary stops it and exits 0', async () => {
    const primary = spawnProcess({
      args: fromSource(SLOW_STARTING_SERVER),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
    });
    await waitUntil(() => logLines(primary, 'worker ready').length === 1, primary);
    primary.child.kill('SIGTERM');
    expect(await primary.exited, primary.output()).toEqual({ code: 0, signal: null });
  }, 60_000);
});
