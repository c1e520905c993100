import { configOrExit, handleShutdown } from '@goal-tracker/server-kit';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

const config = configOrExit(() => loadConfig());
const app = await buildApp({ config, logger: { level: config.logLevel } });
// Stops accepting, closes idle keep-alive connections, waits for in-flight requests, then
// closes the pool of connections to the API (an onClose hook).
const shutdown = handleShutdown({ log: app.log, close: () => app.close() });
try {
  await app.listen({ port: config.port, host: config.host });
} catch (error) {
  app.log.fatal({ err: error }, 'cannot start');
  shutdown.fail('start failed');
}
