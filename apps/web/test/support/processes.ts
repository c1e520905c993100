import { fromSource, startServer, type ServerProcess } from '@goal-tracker/test-support/process';

export type { ServerProcess };

/**
 * The API's abuse limits that tests of the web tier would trip over: every test signs up from
 * one address, and some write dozens of goals a minute. (The limits are the API's to test.)
 */
const UNLIMITED = { SIGNUPS_PER_ADDRESS_PER_HOUR: '0', GOAL_WRITES_PER_MINUTE: '0' };

/**
 * A tier run from its TypeScript sources, as `npm run dev` does, with quiet logs, as a single
 * process (WORKERS=1) unless `env` says otherwise.
 */
export function startTier(
  entry: string,
  options: { env: Record<string, string>; readyPath: string; port?: number },
): Promise<ServerProcess> {
  return startServer({
    args: fromSource(entry),
    env: { ...process.env, LOG_LEVEL: 'warn', WORKERS: '1', ...options.env },
    readyPath: options.readyPath,
    ...(options.port === undefined ? {} : { port: options.port }),
  });
}

/**
 * The real API (apps/api main) against the given database, on `port` or a free one, with any
 * other settings in `env` (WEBAUTHN_ORIGINS, say).
 */
export function startApi(
  databaseUrl: string,
  options: { port?: number; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  return startTier('apps/api/src/main.ts', {
    env: { DATABASE_URL: databaseUrl, ...UNLIMITED, ...options.env },
    readyPath: '/ready',
    ...(options.port === undefined ? {} : { port: options.port }),
  });
}
