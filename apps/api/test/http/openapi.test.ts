import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApi } from '../helpers.js';

interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  security?: Record<string, unknown>[];
  responses: Record<string, { description?: string }>;
}
interface Document {
  servers?: { url: string }[];
  components: { schemas: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
  paths: Record<string, Record<string, Operation>>;
}

const api = useTestApi('openapi');
let document: Document;

beforeAll(async () => {
  document = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<Document>();
});

const operations = () =>
  Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
  );

describe('the OpenAPI document, for the people who generate clients from it', () => {
  it('when read, then every operation has a unique operationId, a tag and a summary', () => {
    const ids = operations().map(({ operation }) => operation.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, operation } of operations()) {
      expect(operation.tags?.length, `${method} ${path}`).toBeGreaterThan(0);
      expect(operation.summary, `${method} ${path}`).toBeTruthy();
    }
  });

  it('when read, then every response says what it is: no "Default Response"', () => {
    for (const { path, method, operation } of operations()) {
      for (const [status, response] of Object.entries(operation.responses)) {
        expect(response.description, `${method} ${path} ${status}`).toBeTruthy();
        expect(response.description, `${method} ${path} ${status}`).not.toBe('Default Response');
      }
    }
  });

  it('when read, then the component schemas carry the contract names, and servers are listed', () => {
    const names = Object.keys(document.components.schemas);
    expect(names).toEqual(expect.arrayContaining(['Goal', 'Account', 'Passkey']));
    expect(names.some((name) => /^def-\d+$/.test(name))).toBe(false);
    expect(document.servers?.map((entry) => entry.url)).toEqual(['/', '/api']);
  });

  it('when read, then every goals, account and passkey route needs the bearer scheme, and sign-up and sign-in do not', () => {
    expect(document.components.securitySchemes).toHaveProperty('bearer');
    for (const { path, method, operation } of operations()) {
      const open = [
        '/accounts',
        '/sessions',
        '/account/recovery',
        '/sessions/passkey',
        '/sessions/passkey/options',
        '/health',
        '/ready',
      ];
      if (open.includes(path)) continue;
      expect(operation.security, `${method} ${path}`).toEqual([{ bearer: [] }]);
      expect(Object.keys(operation.responses), `${method} ${path}`).toContain('401');
    }
  });
});
