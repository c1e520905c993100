import { closeSync, openSync } from 'node:fs';

/**
 * Preloaded into each tier by the local runner (`node --import`). The runner holds an IPC
 * channel to the tier; the kernel closes it however the runner ends, SIGKILL included. The
 * tier then stops as on SIGTERM (the db tier stopping PostgreSQL cleanly) instead of living
 * on as an orphan that holds the ports and the data directory.
 */
if (process.channel) {
  // The channel must not keep the tier alive once its own shutdown is done.
  process.channel.unref();
  process.once('disconnect', () => {
    // Nobody reads the tier's output any more, and pino's flush at exit spins forever on a
    // pipe without a reader. open() takes the lowest free descriptor, so closing 1 and 2 and
    // opening /dev/null twice points both at it.
    for (const fd of [1, 2]) {
      closeSync(fd);
      openSync('/dev/null', 'w');
    }
    process.kill(process.pid, 'SIGTERM');
  });
}
