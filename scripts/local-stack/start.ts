/**
 * `npm start`: builds the API and web tier, then runs the API (with its embedded PostgreSQL
 * when DATABASE_URL is unset, data in DATA_DIR or .data/) on API_PORT (8080) and the web tier
 * on WEB_PORT (3000). Ctrl-C stops all three cleanly.
 */
import { runStackCommand } from './stack.js';

await runStackCommand('start');
