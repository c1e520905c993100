// npm run deploy -- --env dev|prod [--dry-run] [--allow-dirty] [--region r] [--ssh-cidr c] ...
import { runCli } from './cli.js';

process.exitCode = await runCli('deploy', process.argv.slice(2));
