/**
 * The statements the API runs for GET /goals?limit=20 and POST /goals, as pgbench scripts,
 * so the ceiling is the database doing exactly the API's work with no HTTP in between.
 * Keep them in step with apps/api's goals repository.
 */
export const BENCH_LIST_SQL =
  'SELECT id, name, done, created_at, updated_at FROM goals ORDER BY id LIMIT 21;\n';

export const BENCH_INSERT_SQL = [
  '\\set n random(1, 1000000000)',
  "INSERT INTO goals (name) VALUES ('pgbench goal ' || :n) RETURNING id, name, done, created_at, updated_at;",
  '',
].join('\n');
