import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Namespace and live tests share the host's network stack: run files one at a time.
    fileParallelism: false,
  },
});
