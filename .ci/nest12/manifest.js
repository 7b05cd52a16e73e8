'use strict';
/**
 * Writes the Nest 12 lane's package.json: the repo's own, with the Nest packages moved to 12 and Jest
 * to 30 (the first Jest whose CommonJS runtime can `require()` an ES module, which every Nest 12 package
 * is). Everything else stays as the repo declares it, so the lane tests the same dependency set but
 * for Nest. The lane's package-lock.json next to this file pins the result; `npm ci` refuses to run when
 * the two disagree, so a devDependency change in the repo fails the lane until the lock is regenerated
 * (`bash .ci/lane-nest12.sh --relock`).
 *
 * Usage: node .ci/nest12/manifest.js <repo package.json> <output package.json>
 */
const fs = require('fs');

/** The lane's versions, replacing the repo's devDependencies of the same name. */
const LANE_VERSIONS = {
  '@nestjs/common': '^12.6.3',
  '@nestjs/core': '^12.6.3',
  '@nestjs/platform-express': '^12.6.3',
  '@nestjs/platform-fastify': '^12.6.3',
  '@nestjs/testing': '^12.6.3',
  '@nestjs/platform-ws': '^12.1.1',
  '@nestjs/platform-socket.io': '^12.1.1',
  '@nestjs/websockets': '^12.1.1',
  '@nestjs/jwt': '^12.0.2',
  '@nestjs/passport': '^12.0.0',
  '@nestjs/terminus': '^12.1.0',
  jest: '^30.5.2',
  '@types/jest': '^30.0.0',
};

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: node manifest.js <repo package.json> <output package.json>');
const manifest = JSON.parse(fs.readFileSync(input, 'utf8'));
// A Nest package the lane left at 11 would pull Nest 11 back in beside 12 (or fail to resolve).
for (const name of Object.keys(manifest.devDependencies)) {
  if (name.startsWith('@nestjs/') && !(name in LANE_VERSIONS))
    throw new Error(`${name} is a devDependency of the repo: give it its Nest 12 version in ${__filename}`);
}
for (const [name, version] of Object.entries(LANE_VERSIONS)) {
  if (!(name in manifest.devDependencies)) throw new Error(`${name} is no longer a devDependency of the repo; update ${__filename}`);
  manifest.devDependencies[name] = version;
}
// The lane type-checks the sources itself; a build on install would only cost time.
delete manifest.scripts.prepare;
fs.writeFileSync(output, `${JSON.stringify(manifest, null, 2)}\n`);
