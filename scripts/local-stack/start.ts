/**
 * `npm start`: builds the API and web tier, then runs an embedded PostgreSQL (unless
 * DATABASE_URL is set; data in DATA_DIR or .data/), the API on API_PORT (8080) and the web
 * tier on WEB_PORT (3000). Ctrl-C stops all three cleanly.
 */
import { runStackCommand } from './stack.js';

await runStackCommand('start');
