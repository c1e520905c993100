/**
 * The statements the API runs for GET /goals?limit=20 and POST /goals, as pgbench scripts,
 * so the ceiling is the database doing exactly the API's work with no HTTP in between.
 * Keep them in step with apps/api/src/db/goals-repository.ts (`statements.page` with
 * after = 0 and limit = 20 + 1, `statements.insert`); pgbench's prepared protocol binds the
 * variables as parameters, as the API's named statements do.
 */
// pgbench takes every `:word` as a variable, even inside quotes, so the format's colons
// are written as E'\x3a': the same constant to the server.
const ISO = `E'YYYY-MM-DD"T"HH24\\x3aMI\\x3aSS.MS"Z"'`;
const GOAL = `id, goal_name AS name, done,
  to_char(created_at AT TIME ZONE 'UTC', ${ISO}) AS "createdAt",
  to_char(updated_at AT TIME ZONE 'UTC', ${ISO}) AS "updatedAt"`;

const oneLine = (sql: string) => sql.replace(/\s+/g, ' ');

export const BENCH_LIST_SQL = [
  '\\set after 0',
  '\\set limit 21',
  oneLine(`SELECT ${GOAL} FROM goals WHERE id > :after ORDER BY id LIMIT :limit;`),
  '',
].join('\n');

export const BENCH_INSERT_SQL = [
  '\\set n random(1, 1000000000)',
  oneLine(`INSERT INTO goals (goal_name) VALUES (:n::text) RETURNING ${GOAL};`),
  '',
].join('\n');
