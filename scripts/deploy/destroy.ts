// npm run destroy -- --env dev|prod [--dry-run] [--with-registry] [--yes] [--region r]
import { runCli } from './cli.js';

process.exitCode = await runCli('destroy', process.argv.slice(2));
