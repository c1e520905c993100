import cluster from 'node:cluster';

/** Messages between the primary and its workers carry this key, so any others pass by. */
export const KEY = 'goal-tracker';

export interface ClusterMessage {
  [KEY]: 'up' | 'stop' | 'ask' | 'answer';
  id?: number;
  name?: string;
  question?: unknown;
  answer?: unknown;
  error?: string;
}

export function isClusterMessage(message: unknown): message is ClusterMessage {
  return typeof message === 'object' && message !== null && KEY in message;
}

/** In a worker: the primary's stop message runs `stop` (the worker's graceful shutdown). */
export function onStopFromPrimary(stop: () => void): void {
  if (!cluster.isWorker) return;
  process.on('message', (message) => {
    if (isClusterMessage(message) && message[KEY] === 'stop') stop();
  });
}
