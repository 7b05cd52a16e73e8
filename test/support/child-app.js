'use strict';
/**
 * The end of every child-process app the tests start (a real SIGTERM, several cluster instances):
 * creates the Nest app on the platform SIGNALR_TEST_PLATFORM names (Express by default) with Nest's
 * shutdown hooks, listens on a free port of 127.0.0.1 and prints `listening <port>`; a failure to
 * start is printed to stderr and ends the process with 1. Load test/support/ts-register.js first.
 */
const { NestFactory } = require('@nestjs/core');

function runChildApp(AppModule, logger) {
  const start = async () => {
    const app =
      process.env.SIGNALR_TEST_PLATFORM === 'fastify'
        ? await NestFactory.create(AppModule, new (require('@nestjs/platform-fastify').FastifyAdapter)(), { logger })
        : await NestFactory.create(AppModule, { logger });
    app.enableShutdownHooks();
    await app.listen(0, '127.0.0.1');
    process.stdout.write(`listening ${app.getHttpServer().address().port}\n`);
  };
  start().catch((error) => {
    process.stderr.write(`${error && error.stack}\n`);
    process.exit(1);
  });
}

module.exports = { runChildApp };
