'use strict';
/**
 * Lets a plain Node process require the repo's TypeScript sources without a build step: the test
 * suite's child-process apps and the benchmark scripts (`node -r ./test/support/ts-register.js x.ts`).
 * Each .ts file is transpiled on load with the repo's compiler options (tsconfig.json; no type
 * check, `tsc --noEmit` covers that), and relative `./x.js` imports resolve to `./x.ts` as under
 * ts-jest. Output is cached by content under node_modules/.cache, so the compiler loads only after an
 * edit and the many child processes of a run pay for each file once.
 */
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const NodeModule = require('module');

const root = path.resolve(__dirname, '..', '..');
const cacheDir = path.join(root, 'node_modules', '.cache', 'nestjs-signalr-ts');
let compile = null;

function compiler() {
  if (compile !== null) return compile;
  const ts = require('typescript');
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  const compilerOptions = { ...config.options, sourceMap: false, inlineSourceMap: true, declaration: false, noEmit: false };
  compile = (source, fileName) => ts.transpileModule(source, { compilerOptions, fileName }).outputText;
  return compile;
}

function transpile(filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha1').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    const output = compiler()(source, filename);
    try {
      fs.mkdirSync(cacheDir, { recursive: true });
      // Written aside and renamed, so a concurrent reader never sees half a file.
      const temporary = `${cached}.${process.pid}`;
      fs.writeFileSync(temporary, output);
      fs.renameSync(temporary, cached);
    } catch {
      // A cache that cannot be written only costs time.
    }
    return output;
  }
}

require.extensions['.ts'] = (module, filename) => module._compile(transpile(filename), filename);

const resolveFilename = NodeModule._resolveFilename;
NodeModule._resolveFilename = function (request, parent, ...rest) {
  if (request.endsWith('.js') && (request.startsWith('./') || request.startsWith('../')) && parent && parent.filename) {
    const candidate = path.resolve(path.dirname(parent.filename), `${request.slice(0, -3)}.ts`);
    if (fs.existsSync(candidate)) return candidate;
  }
  return resolveFilename.call(this, request, parent, ...rest);
};

require('reflect-metadata');
