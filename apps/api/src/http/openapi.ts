import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { problemResponse } from '../routes/schemas.js';

/** Answers any route can give, documented once here rather than on every route. */
const EVERY_ROUTE = {
  431: problemResponse('The request headers are too large'),
  500: problemResponse('An unexpected failure; the body says nothing of its cause'),
};
/** Answers any route with a JSON body can give, before its handler runs. */
const EVERY_BODY = {
  413: problemResponse('The body is larger than 1 MiB'),
  415: problemResponse('The body is not application/json'),
};

/** The OpenAPI document (from the route schemas) at /openapi.json, and Swagger UI at /docs. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    transform: ({ schema, url }) => {
      if (!schema || schema.hide) return { schema, url };
      const response = {
        ...(schema.body ? EVERY_BODY : {}),
        ...EVERY_ROUTE,
        ...(schema.response as object | undefined),
      };
      // A route that names no security scheme needs none (sign-up, sign-in, health): said
      // explicitly, so that a missing scheme cannot pass for an open route by accident.
      return { schema: { security: [], ...schema, response }, url };
    },
    // Component schemas are named after the contract's $id (Goal, Problem…), not def-0, def-1.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) =>
        typeof json.$id === 'string' ? json.$id : `schema-${index}`,
    },
    openapi: {
      // Relative to where the document is read: the API itself (port 8080; the internal
      // load balancer in AWS), or the web tier, which forwards the public routes under /api.
      servers: [
        { url: '/', description: 'The API itself' },
        { url: '/api', description: 'Through the web tier (its /api/… routes)' },
      ],
      info: {
        title: 'Goal Tracker API',
        version: '1.0.0',
        license: { name: 'Proprietary' },
        contact: { name: 'Goal Tracker maintainers' },
        description:
          'Goals with keyset paging, private to each account. Sign up (POST /accounts) or sign in (POST /sessions) for a token, then send it as Authorization: Bearer <token>. Every error is application/problem+json (RFC 9457).',
      },
      tags: [
        { name: 'goals', description: "The signed-in account's goals" },
        { name: 'accounts', description: 'Sign up, the account, its password and recovery' },
        { name: 'sessions', description: 'Sign in (with a password or a passkey) and sign out' },
        { name: 'passkeys', description: "The signed-in account's passkeys (WebAuthn)" },
        { name: 'operations', description: 'Liveness and readiness, for load balancers' },
      ],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'A session token from POST /accounts, POST /sessions or a passkey sign-in',
          },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
}
