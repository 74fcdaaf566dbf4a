import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // One copy of graphql for everything: Pothos and graphql-yoga load its CommonJS build, so
    // tests must too, or schema objects come from two different modules.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the compiled CLI the tests spawn when it is missing or older than the sources.
    globalSetup: ['test/build-cli.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time on this 2-core machine: most tests wait on child processes, LevelDB
    // fsyncs, HTTP and the browser rather than on a core (vitest's default here would be one).
    maxWorkers: 2,
  },
});
