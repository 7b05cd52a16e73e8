/**
 * Jest runs the TypeScript sources through ts-jest (CommonJS). `.js` suffixes on relative imports map back to the .ts files.
 * ts-jest only transpiles (tsconfig.json has isolatedModules, so it skips type checks): `npm test` runs `tsc --noEmit` first.
 *
 * Unit tests run once. End-to-end tests run on Express; those whose subject is the HTTP layer run again on
 * Fastify (ON_BOTH_PLATFORMS below). The two platform projects differ only by the platform that
 * test/support/app.ts builds the app on.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

/**
 * The end-to-end specs (test/e2e/<name>.spec.ts) whose outcome depends on the HTTP platform: what they
 * test passes through Express's or Fastify's request handling, body reading, upgrade handling or server
 * close. Every other spec tests what lies beyond the transport (hub dispatch, protocols, lifetime
 * managers, Redis, the sample, browsers driving the same endpoints) and runs on Express only. Together
 * these run every transport end to end on both platforms (negotiate, long-polling, server-sent-events,
 * conformance-echo; WebSockets in all of them). A new spec that tests the HTTP layer belongs here.
 */
const ON_BOTH_PLATFORMS = [
  'negotiate', // the negotiate endpoint: query, body, status and headers as each platform writes them
  'long-polling', // polls, sends by POST and DELETE over each platform's request handling
  'server-sent-events', // the event stream response and POSTed sends
  'http-bad-input', // malformed bodies and requests on the HTTP transports
  'receive-backpressure', // pausing the read of POST bodies (Fastify parses bodies itself)
  'send-backpressure', // drain of responses and sockets on every transport
  'cors', // CORS headers on every HTTP path, preflights, and the origin check of upgrades
  'auth', // the token on the request that carries each transport
  'auth-passport', // a passport strategy reading the platform's request
  'transport-identity', // identity taken from the request that carries each transport
  'start-once', // a signed token's start claimed once per cluster, on each platform's upgrade handling
  'no-affinity-carrying', // SSE and long-polling requests carried to the instance that holds their connection, through nginx
  'no-affinity', // a transport started on another instance than its negotiate, through nginx, on each platform's upgrade and request handling
  'reattach-across-instances', // a stateful re-attach bridged to the instance holding its connection, on each platform's upgrade handling
  'platform', // what differs per platform: bound addresses, adapters
  'nest-http-settings', // app.enableCors(), app.use() and the global prefix as each platform's adapter takes them
  'coexistence', // hubs beside the platform's controllers and Nest's gateway adapters on one server
  'shutdown', // app.close() and each platform's server close with connections open
  'conformance-endpoints', // ASP.NET Core's HTTP endpoint cases (negotiate errors, redirects, auth)
  'conformance-echo', // a raw connection over every transport with the official HttpConnection
  'conformance-connection-handlers', // raw connection handlers' endpoints on the platform
  'conformance-server', // the server process (`npm run conformance:server`) on each platform, HTTPS included
];

// A renamed or removed spec must not drop out of the Fastify run unnoticed.
for (const spec of ON_BOTH_PLATFORMS) {
  if (!fs.existsSync(path.join(__dirname, 'test', 'e2e', `${spec}.spec.ts`)))
    throw new Error(`jest.config.js: ON_BOTH_PLATFORMS names test/e2e/${spec}.spec.ts, which does not exist.`);
}

/** The end-to-end tests on one platform (all of them, or the `specs` named), named for it so that failures say which. */
const platform = (name, specs) => ({
  ...shared,
  displayName: name,
  roots: ['<rootDir>/test/e2e'],
  testMatch: specs === undefined ? ['**/*.spec.ts'] : specs.map((spec) => `**/test/e2e/${spec}.spec.ts`),
  globals: { SIGNALR_TEST_PLATFORM: name },
  setupFiles: ['<rootDir>/test/support/platform-setup.js'],
});

module.exports = {
  testTimeout: 20000,
  // Jest's default, one worker less than the cores, runs a 2-core machine in band. The end-to-end specs
  // mostly wait (timers, sockets, child processes, Chromium): eight of them took 68 s in band and 48 s
  // on two workers, for the same CPU time. Specs share no ports or files (free ports, temp dirs).
  maxWorkers: Math.max(2, os.availableParallelism() - 1),
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit'], testMatch: ['**/*.spec.ts'] },
    platform('express'),
    platform('fastify', ON_BOTH_PLATFORMS),
  ],
};
