/**
 * `npm run dev`: the same stack as `npm start`, run from the TypeScript sources, restarting the
 * API or the web tier when its sources change (and recompiling the page's script first).
 */
import { runStackCommand } from './stack.js';

await runStackCommand('dev');
