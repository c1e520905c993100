import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPOSITORY_ROOT } from '@goal-tracker/test-support/repository-root';
import { healthcheckCommand, readDockerfile, stageLineage } from './support/dockerfile.js';
import { DOCKERFILE, TIERS } from './support/images.js';

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const load = async () =>
  parse(await readFile(join(REPOSITORY_ROOT, 'compose.yaml'), 'utf8')) as Compose;

/** `127.0.0.1:3000:3000` or `3000:3000` -> the container port. */
const containerPort = (mapping: string) => Number(mapping.split(':').at(-1));

describe('compose.yaml', () => {
  it('when parsed, then it runs exactly PostgreSQL 15, the API and the web tier', async () => {
    const compose = await load();
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'postgres', 'web']);
    expect(compose.services.postgres?.image).toBe('postgres:15');
  });

  it('when PostgreSQL starts, then its data lives on a named volume and it reports health with pg_isready', async () => {
    const { services, volumes } = await load();
    const postgres = services.postgres!;
    const mount = postgres.volumes?.find((volume) => volume.endsWith(':/var/lib/postgresql/data'));
    const volumeName = mount?.split(':')[0] ?? '';
    expect(volumeName).toMatch(/^[a-z][\w-]*$/); // a name, not a host path
    expect(volumes).toHaveProperty(volumeName);
    expect(postgres.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(postgres.ports).toBeUndefined();
  });

  it.each(TIERS)(
    "when the $tier service is built, then from the root Dockerfile's $tier target with the repository as context",
    async ({ tier }) => {
      const service = (await load()).services[tier]!;
      expect(service.build).toEqual({ context: '.', target: tier });
    },
  );

  it('when the API starts, then after PostgreSQL is healthy, pointed at it by DATABASE_URL with the same password', async () => {
    const { services } = await load();
    const api = services.api!;
    expect(api.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    const url = new URL(api.environment?.DATABASE_URL ?? '');
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('postgres');
    expect(url.port).toBe('5432');
    expect(url.pathname).toBe(`/${services.postgres?.environment?.POSTGRES_DB}`);
    expect(decodeURIComponent(url.username)).toBe(services.postgres?.environment?.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(
      services.postgres?.environment?.POSTGRES_PASSWORD,
    );
  });

  it('when the web tier starts, then after the API is healthy (by its image health check), calling it at http://api:8080', async () => {
    const { services } = await load();
    const web = services.web!;
    expect(web.depends_on).toEqual({ api: { condition: 'service_healthy' } });
    expect(web.environment?.API_URL).toBe('http://api:8080');
    // service_healthy needs a health check; the API service takes its image's.
    const dockerfile = await readDockerfile(join(REPOSITORY_ROOT, DOCKERFILE));
    const check = stageLineage(dockerfile, 'api')
      .flatMap((stage) => stage.instructions)
      .findLast((instruction) => instruction.keyword === 'HEALTHCHECK');
    expect(check && healthcheckCommand(check)).toBeDefined();
  });

  it.each(TIERS)(
    'when $tier is published, then on its own port $port, on the loopback interface only',
    async ({ tier, port }) => {
      const service = (await load()).services[tier]!;
      expect(service.ports).toEqual([`127.0.0.1:${port}:${port}`]);
      expect(service.ports?.map(containerPort)).toEqual([port]);
    },
  );
});
