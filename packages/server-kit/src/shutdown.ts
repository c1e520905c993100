import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { pino, type BaseLogger } from 'pino';
import { onStopFromPrimary } from './cluster-messages.js';
import { ConfigError } from './environment.js';

/** SIGTERM to exit, in-flight requests included, stays under the 10 s the tiers promise. */
export const SHUTDOWN_DEADLINE_MS = 9_000;

export interface ShutdownOptions {
  log: Pick<BaseLogger, 'info' | 'error' | 'fatal'>;
  /** Stop accepting, finish in-flight requests, close pools: everything but the exit. */
  close(): Promise<void>;
  /** Longest the whole of it may take; past it the process exits 1 anyway. */
  deadlineMs?: number;
}

export interface Shutdown {
  /** Closes as on SIGTERM, then exits 1: for a start or migration that failed. */
  fail(reason: string): void;
  /** True once a signal, an uncaught error or fail() has started the shutdown. */
  readonly stopping: boolean;
}

/**
 * The process's one way out. On SIGTERM or SIGINT (or an uncaught error, or fail(), or in a
 * cluster worker the primary's stop message) it runs `close` once and exits: 0 after a signal
 * or the primary's stop, 1 after an error or when `close` overruns the deadline. A second
 * signal while closing exits 1 at once.
 */
export function handleShutdown(options: ShutdownOptions): Shutdown {
  const { log } = options;
  let stopping = false;
  let failure: string | undefined;
  let reason: string | undefined;
  const { close } = closeWithGrace(
    {
      delay: options.deadlineMs ?? SHUTDOWN_DEADLINE_MS,
      logger: false,
      onTimeout: () => log.error('shutdown overran its deadline; exiting now'),
      onSecondSignal: (signal) =>
        log.error({ signal }, 'second signal while stopping; exiting now'),
    },
    async ({ signal, err }) => {
      stopping = true;
      if (err !== undefined) log.fatal({ err }, 'uncaught error');
      log.info(
        { reason: signal ?? failure ?? reason ?? (err ? 'uncaught error' : 'exit') },
        'shutting down',
      );
      try {
        await options.close();
      } catch (error) {
        log.error({ err: error }, 'shutdown failed');
        throw error;
      }
      log.info('stopped');
      // close-with-grace exits 1 when this rejects.
      if (failure !== undefined) throw new Error(failure);
    },
  );
  // A terminal's Ctrl-C reaches the workers as well as the primary: whichever comes second
  // is ignored here, where a second signal would have cut the draining short.
  onStopFromPrimary(() => {
    if (stopping) return;
    reason = 'the primary is stopping';
    void close();
  });
  return {
    fail(why) {
      failure = why;
      void close();
    },
    get stopping() {
      return stopping;
    },
  };
}

/**
 * The settings `load` reads, or, when one is bad, a fatal log line naming it and exit 1
 * (no stack trace: the message says what to fix).
 */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    pino(pino.destination({ dest: 2, sync: true })).fatal(
      `invalid configuration: ${error.message}`,
    );
    process.exit(1);
  }
}

/**
 * A keep-alive connection whose request was in flight when closing began turns idle once its
 * answer is out, and the client would hold it open until the keep-alive timeout (72 s on the
 * web tier): from then on every answer says `connection: close`, and connections that turn
 * idle anyway are closed as they do.
 */
export function closeConnectionsWhenClosing(app: FastifyInstance): void {
  let closing = false;
  let reaper: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    closing = true;
    reaper = setInterval(() => app.server.closeIdleConnections(), 100);
    done();
  });
  // Callback style: it runs on every request, and an async hook costs a promise.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onClose', (_instance, done) => {
    clearInterval(reaper);
    done();
  });
}
