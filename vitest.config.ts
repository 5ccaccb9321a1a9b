import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // a second copy of graphql (ESM + CJS) breaks type-graphql: "from another module or realm"
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    // tiny test models pay more for waking a second wasm thread than they gain; the thread tests set their own count
    env: { TUNEGRAPH_TFJS_THREADS: "1" },
  },
});
