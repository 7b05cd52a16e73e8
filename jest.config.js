/**
 * Jest runs the TypeScript sources through ts-jest (CommonJS). `.js` suffixes on relative imports map back to the .ts files.
 * Unit tests run once; the end-to-end tests run twice, once per HTTP platform the module supports. The two
 * platform projects differ only by the platform that test/support/app.ts builds the app on.
 */
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

/** The end-to-end tests on one platform, named for it so that failures say which. */
const platform = (name) => ({
  ...shared,
  displayName: name,
  roots: ['<rootDir>/test/e2e'],
  testMatch: ['**/*.spec.ts'],
  globals: { SIGNALR_TEST_PLATFORM: name },
  setupFiles: ['<rootDir>/test/support/platform-setup.js'],
});

module.exports = {
  testTimeout: 20000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit'], testMatch: ['**/*.spec.ts'] },
    platform('express'),
    platform('fastify'),
  ],
};
