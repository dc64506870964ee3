// Two test projects: unit/integration tests beside the code, and browser tests in e2e/ that
// drive Debian's Chromium against the real headless host.
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Renderer modules import the contract as @contract/... (as renderer/vite.config.ts resolves it).
const alias = { '@contract': path.resolve(import.meta.dirname, 'electron/contract') };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          alias,
          include: ['electron/**/*.test.ts', 'renderer/**/*.test.ts', 'scripts/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
});
