'use strict';
/**
 * Lets a plain Node process (a test's child app) require the TypeScript sources directly: each file
 * is transpiled on require (no type check; `tsc --noEmit` covers that), and relative imports that
 * end in `.js` (as the sources write them) resolve to the `.ts` file. Transpiled output is cached
 * on disk by path, size and modification time, so the many child processes of a run pay for each
 * file once. Usage: `require('../support/ts-register.js')` first thing in the child's script.
 */
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const NodeModule = require('module');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  useDefineForClassFields: false,
  esModuleInterop: true,
};
const cacheDir = path.join(os.tmpdir(), `nestjs-signalr-ts-${ts.version}`);
fs.mkdirSync(cacheDir, { recursive: true });

function transpile(filename) {
  const stat = fs.statSync(filename);
  const key = crypto.createHash('sha1').update(`${filename}\0${stat.size}\0${stat.mtimeMs}`).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    const output = ts.transpileModule(fs.readFileSync(filename, 'utf8'), { compilerOptions, fileName: filename }).outputText;
    // Written aside and renamed, so a concurrent reader never sees half a file.
    const temporary = `${cached}.${process.pid}`;
    fs.writeFileSync(temporary, output);
    fs.renameSync(temporary, cached);
    return output;
  }
}

require.extensions['.ts'] = (module, filename) => module._compile(transpile(filename), filename);

const resolveFilename = NodeModule._resolveFilename;
NodeModule._resolveFilename = function (request, parent, ...rest) {
  if (request.startsWith('.') && request.endsWith('.js') && parent && parent.filename && parent.filename.endsWith('.ts')) {
    const candidate = path.resolve(path.dirname(parent.filename), `${request.slice(0, -3)}.ts`);
    if (fs.existsSync(candidate)) return candidate;
  }
  return resolveFilename.call(this, request, parent, ...rest);
};

require('reflect-metadata');
