import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './index.js';

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
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = once(child, 'exit');
  const failed = once(child, 'error').then(([error]) => {
    throw new Error(
      `moto_server could not start (${String(error)}); install it with pipx install 'moto[server]'`,
    );
  });
  const url = `http://localhost:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const ready = (async () => {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`moto_server exited: ${stderr}`);
      const answered = await fetch(`http://127.0.0.1:${port}/moto-api/`).then(
        (response) => response.ok,
        () => false,
      );
      if (answered) return;
      if (Date.now() > deadline) throw new Error(`moto_server did not answer: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    await Promise.race([ready, failed]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
