import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run the workspaces' TypeScript sources, so no build is needed between edits.
    alias: [
      { find: /^@goal-tracker\/contract$/, replacement: source('packages/contract/src/index.ts') },
      {
        find: /^@goal-tracker\/contract\/(.+)$/,
        replacement: `${source('packages/contract/src/')}$1.ts`,
      },
      {
        find: /^@goal-tracker\/server-kit$/,
        replacement: source('packages/server-kit/src/index.ts'),
      },
      {
        find: /^@goal-tracker\/test-support\/(.+)$/,
        replacement: `${source('packages/test-support/src/')}$1.ts`,
      },
    ],
  },
  test: {
    include: ['{apps,packages,infra,scripts}/**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/cdk.out/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
