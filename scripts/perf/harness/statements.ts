/**
 * The statements the API runs for GET /goals?limit=20 and POST /goals, as pgbench scripts,
 * so the ceiling is the database doing exactly the API's work with no HTTP in between.
 * Keep them in step with apps/api/src/db/goals-repository.ts (`statements.page` with
 * after = 0 and limit = 20 + 1, `statements.insert`); pgbench's prepared protocol binds the
 * variables as parameters, as the API's named statements do. Each transaction is for one of
 * the bench's accounts, as each request is.
 */
// pgbench takes every `:word` as a variable, even inside quotes, so the format's colons
// are written as E'\x3a': the same constant to the server.
const ISO = `E'YYYY-MM-DD"T"HH24\\x3aMI\\x3aSS.MS"Z"'`;
const GOAL = `id, goal_name AS name, done,
  to_char(created_at AT TIME ZONE 'UTC', ${ISO}) AS "createdAt",
  to_char(updated_at AT TIME ZONE 'UTC', ${ISO}) AS "updatedAt"`;

const oneLine = (sql: string) => sql.replace(/\s+/g, ' ');

/** The accounts the bench signed up: ids first to last, each picked at random per transaction. */
export interface AccountRange {
  first: number;
  last: number;
}

const pickAccount = ({ first, last }: AccountRange) => `\\set account random(${first}, ${last})`;

export function benchListSql(accounts: AccountRange): string {
  return [
    pickAccount(accounts),
    '\\set after 0',
    '\\set limit 21',
    oneLine(
      `SELECT ${GOAL} FROM goals WHERE account_id = :account AND id > :after ORDER BY id LIMIT :limit;`,
    ),
    '',
  ].join('\n');
}

export function benchInsertSql(accounts: AccountRange): string {
  return [
    pickAccount(accounts),
    '\\set n random(1, 1000000000)',
    oneLine(
      `INSERT INTO goals (account_id, goal_name) VALUES (:account, :n::text) RETURNING ${GOAL};`,
    ),
    '',
  ].join('\n');
}
