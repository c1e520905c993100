/**
 * `npm run dev`: the same stack as `npm start`, run from the TypeScript sources, restarting the
 * API or the web tier when its sources change (and recompiling the page's script first).
 */
import { runStack } from './lib/local-stack.js';

try {
  await runStack('dev');
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
process.exit();
