import { fileURLToPath } from 'node:url';

// This module sits in packages/test-support/src (run from source) or dist (built): three
// levels below the root either way.
/** The repository root, with a trailing slash. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
