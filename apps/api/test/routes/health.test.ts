import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { migrate } from '../../src/db/migrations.js';
import { postGoal, signUp, silentLog, testDatabase, useTestApi } from '../helpers.js';

const api = useTestApi('health');

describe('GET /health', () => {
  it('when the process runs, then 200 ok', async () => {
    const response = await api.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });
});

describe('GET /ready', () => {
  it('when the database answers and is migrated, then 200', async () => {
    const response = await api.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready' });
  });

  it('when the schema is not migrated yet, then /ready and (after the connect timeout) the data routes say 503, /health 200', async () => {
    const db = testDatabase(await api.createDatabase('unmigrated'), { connectTimeoutMs: 200 });
    const app = await buildApp({ db });
    try {
      // A well-formed token: checking it needs the database too.
      const authorization = `Bearer ${'t'.repeat(43)}`;
      for (const url of ['/ready', '/goals', '/goals/1']) {
        const response = await app.inject({ method: 'GET', url, headers: { authorization } });
        expect(response.statusCode, url).toBe(503);
        expect(response.headers['retry-after']).toBe('1');
      }
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      await migrate(db, { log: silentLog });
      expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
      const person = await signUp(app);
      expect((await person.inject({ method: 'GET', url: '/goals' })).statusCode).toBe(200);
    } finally {
      await app.close();
      await db.close();
    }
  });
});

describe('a data route while the schema is being migrated', () => {
  it('when a request arrives before the migrations finish, then it waits for them and is served', async () => {
    // As in a second cluster worker, which gets requests as soon as it listens.
    const db = testDatabase(await api.createDatabase('migrating'), { connectTimeoutMs: 10_000 });
    const app = await buildApp({ db });
    try {
      const signUpBody = { email: 'early@example.com', password: 'an early password' };
      const early = app.inject({ method: 'POST', url: '/accounts', payload: signUpBody });
      let answered = false;
      void early.then(() => (answered = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(answered).toBe(false);
      await migrate(db, { log: silentLog });
      const response = await early;
      expect(response.statusCode, response.body).toBe(201);
    } finally {
      await app.close();
      await db.close();
    }
  });

  it('when the database closes while a request waits for the schema, then 503 at once', async () => {
    const db = testDatabase(await api.createDatabase('closing'), { connectTimeoutMs: 60_000 });
    const app = await buildApp({ db });
    try {
      const early = app.inject({
        method: 'GET',
        url: '/goals',
        headers: { authorization: `Bearer ${'t'.repeat(43)}` },
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await db.close();
      expect((await early).statusCode).toBe(503);
    } finally {
      await app.close();
    }
  });
});

describe('GET /metrics', () => {
  it('when requests were served, then Prometheus text counts them by route and shows the pool', async () => {
    await postGoal(api, 'Counted');
    await api.inject({ method: 'GET', url: '/goals/123456' });
    const response = await api.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/goals",status_code="201"\} 1/,
    );
    expect(response.body).toMatch(/route="\/goals\/:id",status_code="404"/);
    expect(response.body).toMatch(/db_pool_connections\{state="total"\} \d+/);
    expect(response.body).toContain('process_resident_memory_bytes');
  });
});

describe('GET /openapi.json and /docs', () => {
  it('when asked, then an OpenAPI 3 document describes every goals route and problem responses', async () => {
    const response = await api.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json<{
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, { content?: object }> }>>;
    }>();
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/goals', '/goals/{id}', '/health', '/ready']),
    );
    expect(Object.keys(document.paths['/goals'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'post']),
    );
    expect(Object.keys(document.paths['/goals/{id}'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'patch', 'delete']),
    );
    expect(document.paths['/goals/{id}']?.get?.responses['404']?.content).toHaveProperty([
      'application/problem+json',
    ]);
    expect(document.paths).not.toHaveProperty('/metrics');
  });

  it('when /docs is opened, then Swagger UI is served', async () => {
    const response = await api.inject({ method: 'GET', url: '/docs/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toContain('swagger');
  });
});
