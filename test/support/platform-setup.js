/**
 * Runs before each end-to-end test file: hands the project's platform (jest.config.js `globals`) to
 * test/support/app.ts as SIGNALR_TEST_PLATFORM, the variable that also picks it outside Jest.
 */
process.env.SIGNALR_TEST_PLATFORM = globalThis.SIGNALR_TEST_PLATFORM;
