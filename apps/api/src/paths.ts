import { fileURLToPath } from 'node:url';

// This module sits directly in src/ (run by tsx) or dist/ (built), so `..` is apps/api in both
// cases, and the SQL migrations are found without being copied into the build output.
/** The API workspace: apps/api. */
export const API_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The numbered SQL migrations, apps/api/migrations. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
