/**
 * Checks the built declarations (dist/src, from `npm run build`) against the reviewed API reports in
 * etc/, one per package entry; exits non-zero when a surface differs from its report, printing how.
 * With --update, rewrites the reports instead (commit them with the change that moved the surface).
 * The four entries share one TypeScript program, so the check takes a few seconds.
 */
const path = require('node:path');
const { CompilerState, Extractor, ExtractorConfig } = require('@microsoft/api-extractor');

const root = path.resolve(__dirname, '..');
const update = process.argv.includes('--update');
const configs = [
  'api-extractor.json',
  'etc/api-extractor.client.json',
  'etc/api-extractor.redis.json',
  'etc/api-extractor.testing.json',
  'etc/api-extractor.terminus.json',
].map((file) => ExtractorConfig.loadFileAndPrepare(path.join(root, file)));
const compilerState = CompilerState.create(configs[0], {
  additionalEntryPoints: configs.map((config) => config.mainEntryPointFilePath),
});

let failed = false;
for (const config of configs) {
  const result = Extractor.invoke(config, { localBuild: update, compilerState, showVerboseMessages: false });
  const report = path.relative(root, config.reportFilePath);
  if (!result.succeeded) {
    failed = true;
    console.error(`${report}: the public API differs from the report (or API Extractor found errors).`);
  } else if (result.apiReportChanged) {
    console.log(`${report}: updated; review and commit it.`);
  }
}
if (failed) {
  console.error('Run `npm run api:update`, review the change in etc/*.api.md, and commit it if it is meant.');
  process.exit(1);
}
