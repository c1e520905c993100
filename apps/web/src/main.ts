import {
  announceReady,
  configOrExit,
  handleShutdown,
  serveWithWorkers,
} from '@goal-tracker/server-kit';
import { loadConfig } from './config.js';

const config = configOrExit(() => loadConfig());

/** The web tier as one process runs it: with WORKERS=1 the only one, otherwise each worker. */
async function serve(): Promise<void> {
  // Loaded here, not above: a primary only supervises, and need not carry the app.
  const { buildApp } = await import('./app.js');
  const app = await buildApp({ config, logger: { level: config.logLevel } });
  // Stops accepting, closes idle keep-alive connections, waits for in-flight requests, then
  // closes the pool of connections to the API (an onClose hook).
  const shutdown = handleShutdown({ log: app.log, close: () => app.close() });
  try {
    await app.listen({ port: config.port, host: config.host });
    announceReady();
  } catch (error) {
    app.log.fatal({ err: error }, 'cannot start');
    shutdown.fail('start failed');
  }
}

await serveWithWorkers({ workers: config.workers, log: config.logLevel, serve });
