/**
 * `npm run openapi`: writes the API's OpenAPI document to a file (default
 * apps/api/dist/openapi.json) without a database, for the linters and client generators.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildApp } from '../../apps/api/src/app.js';
import { urlCredentials } from '../../apps/api/src/db/credentials.js';
import { Database } from '../../apps/api/src/db/database.js';
import { API_ROOT } from '../../apps/api/src/paths.js';

const target = process.argv[2] ?? join(API_ROOT, 'dist/openapi.json');
const log = pino({ level: 'silent' });
// Never connected to: the document comes from the route schemas alone.
const db = new Database({
  credentials: urlCredentials('postgres://nobody@127.0.0.1:1/none'),
  poolMax: 1,
  connectTimeoutMs: 100,
  statementTimeoutMs: 100,
  log,
});
const app = await buildApp({ db, logger: log });
await app.ready();
await writeFile(target, `${JSON.stringify(app.swagger(), null, 2)}\n`);
await app.close();
await db.close();
console.log(`OpenAPI document written to ${target}`);
