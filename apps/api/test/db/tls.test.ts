import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startPostgres, type PostgresServer } from '@goal-tracker/test-support/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrations.js';
import { DatabaseUnavailableError } from '../../src/errors.js';
import { signUp, silentLog, testDatabase } from '../helpers.js';

const openssl = (...args: string[]) => promisify(execFile)('openssl', args);

let directory: string;
let postgres: PostgresServer;
let trustedCa: string;
let strangerCa: string;
let databaseName: string;

/** A CA and a server certificate it signs, valid for the name `localhost` only. */
async function makeCertificates() {
  const file = (name: string) => join(directory, name);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['trusted-ca', 'stranger-ca']) {
    await openssl(
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      file(`${ca}.key`),
      '-out',
      file(`${ca}.crt`),
      '-days',
      '2',
      '-subj',
      `/CN=${ca}`,
    );
  }
  await openssl(
    'req',
    ...ecKey,
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
    '-subj',
    '/CN=localhost',
  );
  await writeFile(file('server.ext'), 'subjectAltName=DNS:localhost\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('trusted-ca.crt'),
    '-CAkey',
    file('trusted-ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.crt'),
    '-days',
    '2',
    '-extfile',
    file('server.ext'),
  );
  return {
    certificate: await readFile(file('server.crt'), 'utf8'),
    key: await readFile(file('server.key'), 'utf8'),
  };
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'goal-tracker-tls-'));
  postgres = await startPostgres({ tls: await makeCertificates() });
  trustedCa = join(directory, 'trusted-ca.crt');
  strangerCa = join(directory, 'stranger-ca.crt');
  databaseName = (await postgres.createDatabase('tls')).split('/').pop() ?? '';
});
afterAll(async () => {
  await postgres?.dispose();
  await rm(directory, { recursive: true, force: true });
});

function urlFor(host: string, query = ''): string {
  return `postgres://${postgres.user}:${postgres.password}@${host}:${postgres.port}/${databaseName}${query}`;
}

async function sessionIsEncrypted(db: Database): Promise<boolean> {
  return db.session(async (query) => {
    const { rows } = await query<{ ssl: boolean }>(
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    return rows[0]?.ssl ?? false;
  });
}

async function withDatabase<T>(db: Database, work: (db: Database) => Promise<T>): Promise<T> {
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

describe('DB_SSL=verify-full', () => {
  it('when the server certificate chains to DB_SSL_CA and names the host, then the API works over TLS', async () => {
    await withDatabase(
      testDatabase(urlFor('localhost'), { ssl: 'verify-full', sslCa: trustedCa }),
      async (db) => {
        expect(await sessionIsEncrypted(db)).toBe(true);
        await migrate(db, { log: silentLog });
        const app = await buildApp({ db });
        expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
        const person = await signUp(app);
        expect((await person.inject({ method: 'GET', url: '/goals' })).statusCode).toBe(200);
        await app.close();
      },
    );
  });

  it('when the URL asks for sslmode=disable, then DB_SSL still wins and the session is encrypted', async () => {
    const db = testDatabase(urlFor('localhost', '?sslmode=disable'), {
      ssl: 'verify-full',
      sslCa: trustedCa,
    });
    await withDatabase(db, async () => expect(await sessionIsEncrypted(db)).toBe(true));
  });

  it('when the certificate is signed by a CA not in DB_SSL_CA, then the connection is refused as unavailable', async () => {
    const db = testDatabase(urlFor('localhost'), { ssl: 'verify-full', sslCa: strangerCa });
    await withDatabase(db, async () => {
      await expect(sessionIsEncrypted(db)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    });
  });

  it('when the host is not a name on the certificate, then the connection is refused', async () => {
    const db = testDatabase(urlFor('127.0.0.1'), { ssl: 'verify-full', sslCa: trustedCa });
    await withDatabase(db, async () => {
      await expect(sessionIsEncrypted(db)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    });
  });
});

describe('DB_SSL=require', () => {
  it('when the certificate cannot be verified, then the session is still encrypted', async () => {
    const db = testDatabase(urlFor('127.0.0.1'), { ssl: 'require' });
    await withDatabase(db, async () => expect(await sessionIsEncrypted(db)).toBe(true));
  });
});

describe('DB_SSL=disable', () => {
  it('when TLS is off, then the session is plain', async () => {
    const db = testDatabase(urlFor('localhost'), { ssl: 'disable' });
    await withDatabase(db, async () => expect(await sessionIsEncrypted(db)).toBe(false));
  });
});
