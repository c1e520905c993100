import { spawn, type ChildProcess } from 'node:child_process';

export interface DatabaseTier {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** The DATABASE_URL the tier printed when ready. */
  url: string;
  /** SIGTERM (never SIGKILL: the tier must stop PostgreSQL, which would outlive it), then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `npm start`'s db tier (scripts/local-stack/database.ts) alone, as the runner starts it in
 * `start` mode (no `source` condition), in checkout `cwd` with its data in `dataDir`;
 * resolves once it prints its URL.
 */
export async function startDatabaseTier(cwd: string, dataDir: string): Promise<DatabaseTier> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/local-stack/database.ts'], {
    cwd,
    env: { ...process.env, DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /"databaseUrl":"([^"]+)"/.exec(output);
      if (ready?.[1]) resolve(ready[1]);
    });
    void exited.then(() => reject(new Error(`the db tier exited:\n${output}`)));
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { child, exited, url, stop };
}
