import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestServer, type TestDatabases } from '@goal-tracker/test-support/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AccountCreated } from '@goal-tracker/contract';
import { buildApp } from '../../src/app.js';
import type { Database } from '../../src/db/database.js';
import { migrate, readMigrations, splitStatements } from '../../src/db/migrations.js';
import { MIGRATIONS_DIR } from '../../src/paths.js';
import {
  createTestApi,
  injectAs,
  json,
  postGoal,
  silentLog,
  TEST_PASSWORD,
  TEST_SETTINGS,
  testDatabase,
  uniqueEmail,
} from '../helpers.js';

let server: TestDatabases;
const databases: Database[] = [];
const directories: string[] = [];

beforeAll(async () => {
  server = await createTestServer();
});
afterAll(async () => {
  await server?.dispose();
});
afterEach(async () => {
  await Promise.all(databases.splice(0).map((db) => db.close()));
  await Promise.all(
    directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })),
  );
});

function open(url: string): Database {
  const db = testDatabase(url);
  databases.push(db);
  return db;
}

async function migrationsDirectory(files: Record<string, string>): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'migrations-'));
  directories.push(directory);
  for (const [name, sql] of Object.entries(files)) await writeFile(join(directory, name), sql);
  return directory;
}

async function rows<T>(db: Database, sql: string): Promise<T[]> {
  return db.session(async (query) => (await query<T>(sql)).rows);
}

describe('the migration files', () => {
  it('when read, then they are numbered 1, 2, 3 ... with no gap', async () => {
    const migrations = await readMigrations();
    expect(migrations.map((migration) => migration.version)).toEqual(
      migrations.map((_, index) => index + 1),
    );
  });

  it("when only 001 is applied, then the table is exactly the specification's goals(id SERIAL PRIMARY KEY, goal_name VARCHAR(255) NOT NULL)", async () => {
    const directory = await migrationsDirectory({});
    await copyFile(
      join(MIGRATIONS_DIR, '001_create_goals.sql'),
      join(directory, '001_create_goals.sql'),
    );
    const db = open(await server.createDatabase('spec'));
    await migrate(db, { log: silentLog, directory });
    const columns = await rows<Record<string, unknown>>(
      db,
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
       FROM information_schema.columns WHERE table_name = 'goals' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      {
        column_name: 'id',
        data_type: 'integer',
        character_maximum_length: null,
        is_nullable: 'NO',
        column_default: "nextval('goals_id_seq'::regclass)",
      },
      {
        column_name: 'goal_name',
        data_type: 'character varying',
        character_maximum_length: 255,
        is_nullable: 'NO',
        column_default: null,
      },
    ]);
    const primaryKey = await rows<{ column_name: string }>(
      db,
      `SELECT kcu.column_name FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage kcu USING (constraint_name, table_name)
       WHERE tc.table_name = 'goals' AND tc.constraint_type = 'PRIMARY KEY'`,
    );
    expect(primaryKey).toEqual([{ column_name: 'id' }]);
  });

  it("when the specification's table already holds rows, then the later migrations keep them", async () => {
    const url = await server.createDatabase('existing');
    const db = open(url);
    await db.session(async (query) => {
      await query('CREATE TABLE goals (id SERIAL PRIMARY KEY, goal_name VARCHAR(255) NOT NULL)');
      await query("INSERT INTO goals (goal_name) VALUES ('From the Go app')");
    });
    await migrate(db, { log: silentLog });
    const goals = await rows<{ goal_name: string; done: boolean }>(
      db,
      'SELECT goal_name, done FROM goals',
    );
    expect(goals).toEqual([{ goal_name: 'From the Go app', done: false }]);
  });
});

describe('migrate', () => {
  it('when six instances migrate one database at once, then each migration is applied exactly once', async () => {
    const url = await server.createDatabase('six');
    const instances = Array.from({ length: 6 }, () => open(url));
    const applied = await Promise.all(instances.map((db) => migrate(db, { log: silentLog })));
    const expected = (await readMigrations()).map((migration) => migration.version);
    // One instance applied everything; the five that waited on the lock found nothing to do.
    expect(applied.flat().sort((a, b) => a - b)).toEqual(expected);
    expect(applied.filter((versions) => versions.length > 0)).toHaveLength(1);
    const recorded = await rows<{ version: number }>(
      instances[0] as Database,
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(recorded.map((row) => row.version)).toEqual(expected);
    for (const db of instances) expect(db.migratedVersion).toBe(expected.at(-1));
  });

  it('when run again, then nothing is applied', async () => {
    const db = open(await server.createDatabase('again'));
    expect((await migrate(db, { log: silentLog })).length).toBeGreaterThan(0);
    expect(await migrate(db, { log: silentLog })).toEqual([]);
  });

  it('when a migration fails, then its transaction leaves nothing behind and the error names the cause', async () => {
    const directory = await migrationsDirectory({
      '001_first.sql': 'CREATE TABLE first_table (id int);',
      '002_broken.sql': 'CREATE TABLE second_table (id int); SELECT * FROM missing_table;',
    });
    const db = open(await server.createDatabase('broken'));
    await expect(migrate(db, { log: silentLog, directory })).rejects.toThrow(/missing_table/);
    const tables = await rows<{ table_name: string }>(
      db,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(tables.map((table) => table.table_name)).toEqual(['first_table', 'schema_migrations']);
    const versions = await rows<{ version: number }>(db, 'SELECT version FROM schema_migrations');
    expect(versions).toEqual([{ version: 1 }]);
    expect(db.migratedVersion).toBeUndefined();
  });

  it('when a file is not named NNN_name.sql, then reading the migrations fails and says which', async () => {
    const directory = await migrationsDirectory({ 'create-things.sql': 'SELECT 1;' });
    await expect(readMigrations(directory)).rejects.toThrow(/create-things\.sql/);
  });
});

describe('no-transaction migrations', () => {
  it('when a file is split, then a dollar-quoted body with semicolons stays one statement and comments are dropped', () => {
    const sql = `-- migrate: no-transaction
-- a comment
DO $$
BEGIN
  PERFORM 1;
  PERFORM 2;
END
$$;

CREATE INDEX CONCURRENTLY x ON t (a);
-- trailing comment
`;
    const statements = splitStatements(sql);
    expect(statements).toHaveLength(2);
    expect(statements[0]).toMatch(/DO \$\$[\s\S]*PERFORM 2;[\s\S]*\$\$;$/);
    expect(statements[1]).toMatch(/^CREATE INDEX CONCURRENTLY x ON t \(a\);$/m);
  });

  it('when a migration says no-transaction, then CREATE INDEX CONCURRENTLY runs, and only files saying so run that way', async () => {
    const directory = await migrationsDirectory({
      '001_table.sql': 'CREATE TABLE t (a int);',
      '002_index.sql': '-- migrate: no-transaction\nCREATE INDEX CONCURRENTLY t_a_idx ON t (a);\n',
    });
    const migrations = await readMigrations(directory);
    expect(migrations.map((migration) => migration.transactional)).toEqual([true, false]);
    const db = open(await server.createDatabase('concurrently'));
    expect(await migrate(db, { log: silentLog, directory })).toEqual([1, 2]);
    const indexes = await rows<{ indexname: string }>(
      db,
      "SELECT indexname FROM pg_indexes WHERE tablename = 't'",
    );
    expect(indexes).toEqual([{ indexname: 't_a_idx' }]);
  });
});

describe('accounts over goals from before them (005 to 007)', () => {
  async function upTo(version: number): Promise<string> {
    const directory = await migrationsDirectory({});
    for (const migration of await readMigrations()) {
      if (migration.version > version) continue;
      const file = `${String(migration.version).padStart(3, '0')}_${migration.name}.sql`;
      await copyFile(join(MIGRATIONS_DIR, file), join(directory, file));
    }
    return directory;
  }

  it('when goals exist, then they keep their ids as bigint, the sequence goes on, and the first account to sign up adopts them once', async () => {
    const url = await server.createDatabase('adoption');
    const db = open(url);
    await migrate(db, { log: silentLog, directory: await upTo(4) });
    await db.session(async (query) => {
      await query("INSERT INTO goals (goal_name) VALUES ('Old one'), ('Old two'), ('Old three')");
      await query("UPDATE goals SET done = true WHERE goal_name = 'Old two'");
      await query(
        "INSERT INTO idempotency_keys (key, request_name, goal_id) VALUES ('k', 'Old one', 1)",
      );
    });
    const before = await rows<{ id: number; goal_name: string }>(
      db,
      'SELECT id, goal_name FROM goals ORDER BY id',
    );

    await migrate(db, { log: silentLog });
    const types = await rows<{ table_name: string; column_name: string; data_type: string }>(
      db,
      `SELECT table_name, column_name, data_type FROM information_schema.columns
       WHERE (table_name, column_name) IN (('goals', 'id'), ('goals', 'account_id'), ('idempotency_keys', 'goal_id'))
       ORDER BY table_name, column_name`,
    );
    expect(types.map((type) => type.data_type)).toEqual(['bigint', 'bigint', 'bigint']);
    const after = await rows<{ id: string; goal_name: string; account_id: null }>(
      db,
      'SELECT id, goal_name, account_id FROM goals ORDER BY id',
    );
    expect(after.map((row) => ({ id: Number(row.id), goal_name: row.goal_name }))).toEqual(before);
    expect(after.every((row) => row.account_id === null)).toBe(true);
    // Nothing of the copy is left: no id_big, trigger or function.
    const leftovers = await rows(
      db,
      `SELECT 1 FROM information_schema.columns WHERE table_name = 'goals' AND column_name IN ('id_big', 'id_integer')
       UNION ALL SELECT 1 FROM pg_trigger WHERE tgname = 'goals_copy_id_to_id_big'`,
    );
    expect(leftovers).toEqual([]);
    const invalid = await rows(db, 'SELECT 1 FROM pg_index WHERE NOT indisvalid');
    expect(invalid).toEqual([]);

    const api = await createTestApi(url);
    try {
      // createTestApi signed one account up: it was the first, so the goals are its own.
      const adopted = await api.inject({ method: 'GET', url: '/goals' });
      // Newest first, the order 009 gives the goals from before it.
      expect(adopted.json<{ goals: { name: string }[] }>().goals.map((goal) => goal.name)).toEqual([
        'Old three',
        'Old two',
        'Old one',
      ]);
      const created = await postGoal(api, 'New one');
      expect(created.json<{ id: number }>().id).toBe(4);

      const second = await api.app.inject({
        method: 'POST',
        url: '/accounts',
        headers: json,
        payload: { email: uniqueEmail('second'), password: TEST_PASSWORD },
      });
      expect(second.json<AccountCreated>().adoptedGoals).toBeUndefined();
      const theirs = await injectAs(api.app, second.json<AccountCreated>().token, {
        method: 'GET',
        url: '/goals',
      });
      expect(theirs.json<{ goals: unknown[] }>().goals).toEqual([]);
    } finally {
      await api.close();
    }
  });

  it('when goals exist before 008 and 009, then they are ordered newest first, a done one gets its last change as doneAt, and new goals go on top', async () => {
    const url = await server.createDatabase('order_backfill');
    const db = open(url);
    await migrate(db, { log: silentLog, directory: await upTo(7) });
    await db.session((query) =>
      query(
        `INSERT INTO goals (goal_name, done, updated_at)
         SELECT 'Old ' || n, n = 2, ('2026-03-0' || n || 'T10:00:00Z')::timestamptz
         FROM generate_series(1, 3) n`,
      ),
    );
    await migrate(db, { log: silentLog });
    const goals = await rows<Record<string, unknown>>(
      db,
      'SELECT goal_name, done_at, version, target_date FROM goals ORDER BY position',
    );
    expect(goals).toEqual([
      { goal_name: 'Old 3', done_at: null, version: 1, target_date: null },
      {
        goal_name: 'Old 2',
        done_at: new Date('2026-03-02T10:00:00Z'),
        version: 1,
        target_date: null,
      },
      { goal_name: 'Old 1', done_at: null, version: 1, target_date: null },
    ]);
    const constraint = await rows<{ convalidated: boolean }>(
      db,
      "SELECT convalidated FROM pg_constraint WHERE conname = 'goals_position_not_null'",
    );
    expect(constraint).toEqual([{ convalidated: true }]);
    expect(await rows(db, 'SELECT 1 FROM pg_index WHERE NOT indisvalid')).toEqual([]);
    // The first account to sign up adopts them (createTestApi signs one up).
    const api = await createTestApi(url);
    try {
      await postGoal(api, 'New');
      const listed = await api.inject({ method: 'GET', url: '/goals' });
      expect(listed.json<{ goals: { name: string }[] }>().goals.map((goal) => goal.name)).toEqual([
        'New',
        'Old 3',
        'Old 2',
        'Old 1',
      ]);
    } finally {
      await api.close();
    }
  });

  it('when an instance of the previous version inserts a goal after 008, then it gets a position on top', async () => {
    const url = await server.createDatabase('order_trigger');
    const db = open(url);
    await migrate(db, { log: silentLog });
    await db.session(async (query) => {
      await query("INSERT INTO goals (goal_name) VALUES ('first'), ('second')");
    });
    const ordered = await rows<{ goal_name: string }>(
      db,
      'SELECT goal_name FROM goals ORDER BY position, id DESC',
    );
    expect(ordered.map((row) => row.goal_name)).toEqual(['second', 'first']);
  });

  it('when the first account signs up, then the answer says how many goals it received', async () => {
    const url = await server.createDatabase('adoption_count');
    const db = open(url);
    await migrate(db, { log: silentLog, directory: await upTo(4) });
    await db.session((query) =>
      query("INSERT INTO goals (goal_name) SELECT 'Old ' || n FROM generate_series(1, 25) n"),
    );
    await migrate(db, { log: silentLog });
    const app = await buildApp({ db, settings: TEST_SETTINGS });
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/accounts',
        headers: json,
        payload: { email: uniqueEmail('first'), password: TEST_PASSWORD },
      });
      expect(response.json<AccountCreated>().adoptedGoals).toBe(25);
    } finally {
      await app.close();
    }
  });
});
