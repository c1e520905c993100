import { askPrimary, isWorker } from '@goal-tracker/server-kit';
import type { FastifyInstance } from 'fastify';
import {
  AggregatorRegistry,
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type PrometheusContentType,
} from 'prom-client';
import type { PoolStats } from '../db/database.js';
import type { ReadCacheStats } from '../caching/read-cache.js';

export interface MetricsOptions {
  poolStats: () => PoolStats;
  cacheStats: () => ReadCacheStats & { listening: boolean };
}

export interface AppMetrics {
  /** One multi-row INSERT of `size` creates went out. */
  observeInsertBatch: (size: number) => void;
}

/**
 * Prometheus text at /metrics: process metrics, request durations by route and status, and
 * the connection pool. One registry per app, so apps built side by side in tests stay apart;
 * with WORKERS above 1, the scrape is the whole instance's (see METRICS_QUESTION).
 */
export function registerMetrics(app: FastifyInstance, options: MetricsOptions): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response, by method, route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: 'db_pool_connections',
    help: 'Database pool connections: total, idle, and requests waiting for one',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const stats = options.poolStats();
      this.set({ state: 'total' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
    },
  });

  new Counter({
    name: 'goals_cache_lookups_total',
    help: 'List and summary reads: served from memory (hit) or from the database (miss)',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      const stats = options.cacheStats();
      this.reset();
      this.inc({ result: 'hit' }, stats.hits);
      this.inc({ result: 'miss' }, stats.misses);
    },
  });
  new Gauge({
    name: 'goals_cache_listening',
    help: '1 while the cache hears every change (its LISTEN connection is up), else 0',
    registers: [registry],
    collect() {
      this.set(options.cacheStats().listening ? 1 : 0);
    },
  });
  new Gauge({
    name: 'goals_cache_bytes',
    help: 'Bytes of response bodies the cache holds',
    registers: [registry],
    collect() {
      this.set(options.cacheStats().bytes);
    },
  });
  const insertBatch = new Histogram({
    name: 'goals_insert_batch_size',
    help: 'Creates per INSERT statement (creates arriving together share one)',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [registry],
  });

  app.addHook('onResponse', (request, reply, done) => {
    duration.observe(
      {
        method: request.method,
        // The route pattern (/goals/:id), never the raw URL: label values must stay few.
        route: request.routeOptions.url ?? 'unmatched',
        status_code: reply.statusCode,
      },
      reply.elapsedTime / 1000,
    );
    done();
  });

  if (isWorker()) {
    // The primary gathers every worker's registry (prom-client's cluster messages), so a
    // scrape sees the instance, whichever worker it reached.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([registry]);
  }
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return isWorker() ? String(await askPrimary(METRICS_QUESTION, null)) : registry.metrics();
  });
  return { observeInsertBatch: (size) => insertBatch.observe(size) };
}

/** What a worker asks the primary for a scrape: the workers' metrics, summed or averaged. */
export const METRICS_QUESTION = 'metrics';

let workers: AggregatorRegistry<PrometheusContentType> | undefined;

/** The primary's answer to METRICS_QUESTION. */
export function instanceMetrics(): Promise<string> {
  workers ??= new AggregatorRegistry();
  return workers.clusterMetrics();
}
