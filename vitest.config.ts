import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2-core machines: heavy suites (ONNX, Chromium) fight each other when run in parallel.
    fileParallelism: false,
    pool: 'forks',
  },
})
