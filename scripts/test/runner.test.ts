import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CommandFailedError, createRunner, formatCommand } from '../deploy/runner.js';

const quiet = () => createRunner({ dryRun: false, cwd: tmpdir(), print: () => undefined });

describe('the deploy runner', () => {
  it('when a command is printed, then pasting it into a shell passes exactly the same arguments', () => {
    const args = [
      "it's",
      'two words',
      '$HOME',
      '`id`',
      '',
      'a"b',
      "Stacks[0].Outputs[?OutputKey=='ApplicationUrl']",
    ];
    const line = formatCommand({ program: 'printf', args: ['%s\\n', ...args] });
    const output = execFileSync('sh', ['-c', line], { encoding: 'utf8' });
    expect(output.split('\n').slice(0, -1)).toEqual(args);
  });

  it('when a command sets variables, then they are printed before it, as a shell would take them', () => {
    const line = formatCommand({ program: 'sh', args: ['-c', 'echo "$A"'], env: { A: 'x y' } });
    expect(line).toBe(`A='x y' sh -c 'echo "$A"'`);
    expect(execFileSync('sh', ['-c', line], { encoding: 'utf8' })).toBe('x y\n');
  });

  it('when the command feeding a pipe fails, then the piped command counts as failed', async () => {
    const failure = await quiet()
      .execute({ program: 'cat', args: [], stdinFrom: { program: 'sh', args: ['-c', 'exit 3'] } })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CommandFailedError);
    expect((failure as CommandFailedError).code).toBe(3);
  });

  it('when a program does not exist, then execute fails with 127 and ask answers 127 without throwing', async () => {
    const runner = quiet();
    const missing = { program: 'goal-tracker-no-such-program', args: [] };
    const failure = await runner.execute(missing).catch((error: unknown) => error);
    expect((failure as CommandFailedError).code).toBe(127);
    expect((await runner.ask(missing, 'unused')).code).toBe(127);
  });

  it('when running dry, then execute and ask only print, and inspect still runs', async () => {
    const printed: string[] = [];
    const runner = createRunner({
      dryRun: true,
      cwd: tmpdir(),
      print: (line) => printed.push(line),
    });
    await runner.execute({ program: 'sh', args: ['-c', 'exit 1'] });
    expect(await runner.ask({ program: 'sh', args: ['-c', 'echo real'] }, 'pretend')).toEqual({
      code: 0,
      stdout: 'pretend',
      stderr: '',
    });
    expect((await runner.inspect({ program: 'sh', args: ['-c', 'echo real'] })).stdout).toBe(
      'real',
    );
    expect(printed).toEqual(["  [dry-run] $ sh -c 'exit 1'", "  [dry-run] $ sh -c 'echo real'"]);
  });
});
