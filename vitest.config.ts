import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace code imports @livetally/sdk from its sources, not its build (see packages/sdk/README.md).
  ssr: { resolve: { conditions: ['@livetally/source', ...defaultServerConditions] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'bench/lib/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/**/*.test.ts'],
          // The stack: the one the caller names, else testcontainers, else the native one.
          globalSetup: ['tests/support/global-setup.ts'],
          // One shared local stack: integration files run one after another.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
