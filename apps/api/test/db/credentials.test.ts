import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { startPostgres, type PostgresServer } from '@goal-tracker/test-postgres';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase, type OpenedDatabase } from '../../src/db/connect.js';
import { parseDatabaseSecret, SecretFormatError } from '../../src/db/credentials.js';
import { migrate } from '../../src/db/migrations.js';
import { loggerOptions } from '../../src/logger.js';
import { postGoal, signUp } from '../helpers.js';

const SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:dev-goal-tracker-db-credentials-AbCdEf';
const ROLE = 'goals_app';

/** Answers GetSecretValue as AWS Secrets Manager does (JSON 1.1 protocol) from `secret`. */
class FakeSecretsManager {
  secret: Record<string, unknown> = {};
  calls = 0;
  readonly server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const { SecretId } = JSON.parse(body) as { SecretId?: string };
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      if (
        request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue' ||
        SecretId !== SECRET_ARN
      ) {
        response.statusCode = 400;
        response.end(
          JSON.stringify({ __type: 'ResourceNotFoundException', message: 'no such secret' }),
        );
        return;
      }
      this.calls += 1;
      response.end(
        JSON.stringify({
          ARN: SECRET_ARN,
          Name: 'dev-goal-tracker-db-credentials',
          VersionId: `v${this.calls}`,
          SecretString: JSON.stringify(this.secret),
          CreatedDate: Date.now() / 1000,
        }),
      );
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

let postgres: PostgresServer;
let fake: FakeSecretsManager;
let database: string;
const logLines: string[] = [];

async function asSuperuser(work: (client: pg.Client) => Promise<unknown>, db = 'postgres') {
  const client = new pg.Client({ connectionString: postgres.url(db) });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/** The password changes in the database, and every open session of the role is cut. */
async function changePassword(password: string) {
  await asSuperuser(async (client) => {
    await client.query(`ALTER ROLE ${ROLE} PASSWORD '${password}'`);
    await client.query(
      `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = '${ROLE}'`,
    );
  });
}

function secretWith(password: string) {
  return {
    username: ROLE,
    password,
    engine: 'postgres',
    host: '127.0.0.1',
    port: postgres.port,
    dbname: database,
  };
}

beforeAll(async () => {
  postgres = await startPostgres();
  database = (await postgres.createDatabase('secret')).split('/').pop() ?? '';
  await asSuperuser(async (client) => {
    await client.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD 'first-password'`);
    await client.query(`ALTER DATABASE ${database} OWNER TO ${ROLE}`);
  });
  await asSuperuser((client) => client.query(`ALTER SCHEMA public OWNER TO ${ROLE}`), database);
  fake = new FakeSecretsManager();
  vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', await fake.listen());
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'fake-secret-key');
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
});
afterAll(async () => {
  vi.unstubAllEnvs();
  fake?.server.close();
  await postgres?.dispose();
});

describe('credentials from AWS Secrets Manager (DB_SECRET_ARN)', () => {
  it('when the password rotates mid-run, then the API re-reads the secret and carries on without a restart', async () => {
    fake.secret = secretWith('first-password');
    const config = loadConfig({ DB_SECRET_ARN: SECRET_ARN, AWS_REGION: 'eu-west-1' });
    const logger = pino(
      loggerOptions('debug'),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          logLines.push(chunk.toString());
          done();
        },
      }),
    );
    let opened: OpenedDatabase | undefined;
    try {
      opened = await openDatabase(config.database, logger);
      await migrate(opened.db, { log: logger });
      const app = await buildApp({ db: opened.db, logger });
      const person = await signUp(app);
      const created = await postGoal(person, 'Before rotation');
      expect(created.statusCode).toBe(201);
      expect(fake.calls).toBe(1);

      // Rotation as AWS does it: the database gets the new password and the secret follows.
      await changePassword('second-password');
      fake.secret = secretWith('second-password');
      const afterRotation = await person.inject({ method: 'GET', url: '/goals' });
      expect(afterRotation.statusCode).toBe(200);
      expect(afterRotation.json<{ goals: unknown[] }>().goals).toHaveLength(1);
      expect(fake.calls).toBe(2);

      // The database changed first and the secret lags: 503 until the secret catches up.
      await changePassword('third-password');
      expect((await person.inject({ method: 'GET', url: '/goals' })).statusCode).toBe(503);
      fake.secret = secretWith('third-password');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const caughtUp = await postGoal(person, 'After');
      expect(caughtUp.statusCode).toBe(201);
      await app.close();
    } finally {
      await opened?.close();
    }
    expect(logLines.join('')).toContain('database credentials changed');
    expect(logLines.join('')).not.toMatch(/first-password|second-password|third-password/);
  });

  it('when the secret cannot be read, then data routes answer 503, and work once it can', async () => {
    fake.secret = { username: ROLE };
    const config = loadConfig({ DB_SECRET_ARN: SECRET_ARN, AWS_REGION: 'eu-west-1' });
    const opened = await openDatabase(config.database, pino({ level: 'silent' }));
    try {
      await expect(migrate(opened.db, { log: pino({ level: 'silent' }) })).rejects.toThrow(
        /unavailable/,
      );
      fake.secret = secretWith('third-password');
      await migrate(opened.db, { log: pino({ level: 'silent' }) });
      const app = await buildApp({ db: opened.db });
      expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
      await app.close();
    } finally {
      await opened.close();
    }
  });
});

describe('parseDatabaseSecret', () => {
  it('when the secret is complete, then it gives the connection settings, port as a number', () => {
    expect(
      parseDatabaseSecret(
        JSON.stringify({
          username: 'u',
          password: 'p',
          host: 'h',
          port: '5432',
          dbname: 'goalsdb',
        }),
      ),
    ).toEqual({ host: 'h', port: 5432, user: 'u', password: 'p', database: 'goalsdb' });
  });

  it('when a field is missing, then the error names the field and not the password', () => {
    const parse = () =>
      parseDatabaseSecret(JSON.stringify({ username: 'u', password: 'hunter2', port: 5432 }));
    expect(parse).toThrow(SecretFormatError);
    expect(parse).toThrow(/host/);
    expect(parse).not.toThrow(/hunter2/);
  });

  it('when the secret is not JSON, then it says so without echoing it', () => {
    expect(() => parseDatabaseSecret('password=hunter2')).toThrow(/not JSON/);
    expect(() => parseDatabaseSecret('password=hunter2')).not.toThrow(/hunter2/);
  });
});
