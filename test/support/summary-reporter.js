/**
 * Ends every Jest run with one plain line, `N passed, N failed` (plus skipped), which CI reads as the
 * test count whatever the runner. Above it, one line per failed test or suite, named with its Jest
 * project (unit, express, fastify), since the end-to-end files run once per platform.
 */
const path = require('path');

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.failures = [];
  }

  onTestResult(test, result) {
    const project = test.context.config.displayName?.name;
    const where = `${project ? `[${project}] ` : ''}${path.relative(this.rootDir, result.testFilePath)}`;
    if (result.testExecError) this.failures.push(`${where} (suite failed to run)`);
    for (const each of result.testResults) {
      if (each.status === 'failed') this.failures.push([where, ...each.ancestorTitles, each.title].join(' › '));
    }
  }

  onRunComplete(_contexts, results) {
    if (this.failures.length > 0) process.stdout.write(`\nFailed:\n${this.failures.map((line) => `  ${line}`).join('\n')}\n`);
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.stdout.write(`\n${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}
module.exports = SummaryReporter;
