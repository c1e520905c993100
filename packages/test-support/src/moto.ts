import { freePort } from './free-port.js';
import { spawnProcess, waitUntilOk } from './process.js';

/** A throwaway `moto_server`: the AWS APIs, emulated locally, with nothing in them yet. */
export interface MotoServer {
  /**
   * The endpoint for `AWS_ENDPOINT_URL`. The host is `localhost`, not 127.0.0.1: moto reads a
   * CloudFormation TemplateURL as path-style only for that host.
   */
  readonly url: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;

/**
 * Starts moto on a free loopback port and waits until it answers. moto is a Python tool that
 * these machines have (`pipx install 'moto[server]'` elsewhere); its absence is an error with
 * that hint, never a skipped test.
 */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const moto = spawnProcess({
    command: 'moto_server',
    args: ['-H', '127.0.0.1', '-p', String(port)],
  });
  try {
    await waitUntilOk(`http://127.0.0.1:${port}/moto-api/`, moto, {
      deadlineMs: READY_TIMEOUT_MS,
    });
  } catch (error) {
    await moto.stop('SIGKILL');
    const missing = moto.output().includes('ENOENT');
    throw new Error(
      missing
        ? "moto_server could not start; install it with pipx install 'moto[server]'"
        : `moto_server did not start: ${(error as Error).message}`,
    );
  }
  return {
    url: `http://localhost:${port}`,
    async stop() {
      await moto.stop();
    },
  };
}
