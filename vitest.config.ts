import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/services.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores on CI machines: more workers only queue on the database.
    maxWorkers: 3,
    env: { LOG_LEVEL: "silent" },
  },
});
