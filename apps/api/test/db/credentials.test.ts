import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { startMoto, type MotoServer } from '@goal-tracker/test-support/moto';
import { startPostgres, type PostgresServer } from '@goal-tracker/test-support/postgres';
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

const REGION = 'eu-west-1';
const ROLE = 'goals_app';

/**
 * Passes every request on to moto and counts the secret reads, so the test can tell a read at
 * start and one per rotation from a read per request.
 */
class CountingProxy {
  reads = 0;
  readonly server: Server;

  constructor(target: string) {
    this.server = createServer((request, response) => {
      if (request.headers['x-amz-target'] === 'secretsmanager.GetSecretValue') this.reads += 1;
      const upstream = httpRequest(
        new URL(request.url ?? '/', target),
        { method: request.method, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on('error', () => response.destroy());
      request.pipe(upstream);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

let postgres: PostgresServer;
let moto: MotoServer;
let secrets: SecretsManagerClient;
let secretArn: string;
let proxy: CountingProxy;
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
  moto = await startMoto();
  secrets = new SecretsManagerClient({
    region: REGION,
    endpoint: moto.url,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'moto-secret-key' },
  });
  const created = await secrets.send(
    new CreateSecretCommand({
      Name: 'dev-goal-tracker-db-credentials',
      SecretString: JSON.stringify(secretWith('first-password')),
    }),
  );
  secretArn = created.ARN ?? '';
  proxy = new CountingProxy(moto.url);
  vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', await proxy.listen());
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'moto-secret-key');
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
});
afterAll(async () => {
  vi.unstubAllEnvs();
  secrets?.destroy();
  proxy?.server.close();
  await moto?.stop();
  await postgres?.dispose();
});

/** What a rotation does to the secret: a new AWSCURRENT version with the new value. */
async function putSecret(value: object) {
  await secrets.send(
    new PutSecretValueCommand({ SecretId: secretArn, SecretString: JSON.stringify(value) }),
  );
}

describe('credentials from AWS Secrets Manager (DB_SECRET_ARN; moto emulates the service)', () => {
  it('when the password rotates mid-run, then the API re-reads the secret and carries on without a restart', async () => {
    await putSecret(secretWith('first-password'));
    const readsBefore = proxy.reads;
    const config = loadConfig({ DB_SECRET_ARN: secretArn, AWS_REGION: REGION });
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
      opened = openDatabase(config.database, logger);
      await migrate(opened.db, { log: logger });
      const app = await buildApp({ db: opened.db, logger });
      const person = await signUp(app);
      const created = await postGoal(person, 'Before rotation');
      expect(created.statusCode).toBe(201);
      expect(proxy.reads - readsBefore).toBe(1);

      // Rotation as AWS does it: the database gets the new password and the secret follows.
      await changePassword('second-password');
      await putSecret(secretWith('second-password'));
      const afterRotation = await person.inject({ method: 'GET', url: '/goals' });
      expect(afterRotation.statusCode).toBe(200);
      expect(afterRotation.json<{ goals: unknown[] }>().goals).toHaveLength(1);
      expect(proxy.reads - readsBefore).toBe(2);

      // The database changed first and the secret lags: 503 until the secret catches up.
      await changePassword('third-password');
      expect((await person.inject({ method: 'GET', url: '/goals' })).statusCode).toBe(503);
      await putSecret(secretWith('third-password'));
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
    await putSecret({ username: ROLE });
    const config = loadConfig({ DB_SECRET_ARN: secretArn, AWS_REGION: REGION });
    const opened = openDatabase(config.database, pino({ level: 'silent' }));
    try {
      await expect(migrate(opened.db, { log: pino({ level: 'silent' }) })).rejects.toThrow(
        /unavailable/,
      );
      await putSecret(secretWith('third-password'));
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
