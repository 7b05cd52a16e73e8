/*
 * Lets `node -r ./bench/support/register.js bench/x.ts` run the benchmark scripts and the repo's
 * TypeScript sources without a build step: each .ts file is transpiled on load with the repo's
 * compiler options (the same JavaScript tsc emits for the build), and `./x.js` imports resolve to
 * `./x.ts` as they do under ts-jest. Output is cached by content hash under node_modules/.cache, so
 * only the first start after an edit loads the compiler. Only startup pays; the measured code is plain JS.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const Module = require('module');

const root = path.resolve(__dirname, '..', '..');
const cacheDir = path.join(root, 'node_modules', '.cache', 'nestjs-signalr-bench');
let compile = null;

function compiler() {
  if (compile !== null) return compile;
  const ts = require('typescript');
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  const compilerOptions = { ...config.options, sourceMap: false, inlineSourceMap: true, declaration: false, noEmit: false };
  compile = (source, fileName) => ts.transpileModule(source, { compilerOptions, fileName }).outputText;
  return compile;
}

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request.endsWith('.js') && (request.startsWith('./') || request.startsWith('../')) && parent && parent.filename) {
    const candidate = path.resolve(path.dirname(parent.filename), request.slice(0, -3) + '.ts');
    if (fs.existsSync(candidate)) return candidate;
  }
  return resolve.call(this, request, parent, ...rest);
};

require.extensions['.ts'] = function (module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha1').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  let output;
  try {
    output = fs.readFileSync(cached, 'utf8');
  } catch {
    output = compiler()(source, filename);
    try {
      fs.mkdirSync(cacheDir, { recursive: true });
      const temporary = `${cached}.${process.pid}`;
      fs.writeFileSync(temporary, output);
      fs.renameSync(temporary, cached);
    } catch {
      // A cache that cannot be written only costs time.
    }
  }
  module._compile(output, filename);
};
