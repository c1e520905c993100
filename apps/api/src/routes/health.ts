import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ReadinessService } from '../services/readiness-service.js';
import { HealthStatus, unavailable } from './schemas.js';

export function healthRoutes(readiness: ReadinessService): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async
  return async (app) => {
    // Liveness: the process answers. Never touches the database, so a database outage
    // does not make the orchestrator restart healthy API instances.
    app.get(
      '/health',
      {
        schema: {
          operationId: 'getHealth',
          description:
            'Answers 200 while the process runs; never touches the database, so a database outage does not make the load balancer replace healthy instances.',
          tags: ['operations'],
          summary: 'Liveness: the process answers; never touches the database',
          response: { 200: HealthStatus },
        },
      },
      () => ({ status: 'ok' }),
    );

    app.get(
      '/ready',
      {
        schema: {
          operationId: 'getReadiness',
          description:
            '200 once the database answers and the schema is migrated; 503 with Retry-After otherwise.',
          tags: ['operations'],
          summary: 'Readiness: the database answers and the schema is migrated',
          response: { 200: HealthStatus, 503: unavailable },
        },
      },
      async () => {
        await readiness.check();
        return { status: 'ready' };
      },
    );
  };
}
