import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import * as ts from 'typescript';

/*
 * An app that type-checks its libraries (`skipLibCheck: false`) reads every declaration file the
 * package's entry points reach. Each module those files import must be there with its types in such
 * an app: Node's own, a peer dependency (the app installs it), or a dependency that ships its types.
 * `ws` does not (its types are `@types/ws`, a devDependency here), so no public declaration may
 * import it. The declarations are emitted in memory from src/, as `npm run build` would.
 */
const root = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

/**
 * Known, left for the packaging issue: the main entry reaches the official client's types through
 * `TypedHubConnection` (the client helper's types), yet `@microsoft/signalr` is no peer dependency,
 * so a server-only app without it fails to type-check. Listed exactly, so that nothing slips in
 * beside it and fixing it means updating this list.
 */
const KNOWN_UNAVAILABLE = [`${path.join('src', 'client', 'typed-connection.d.ts')} imports '@microsoft/signalr'`];

function shipsOwnTypes(dependency: string): boolean {
  const dependencyManifest = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', dependency, 'package.json'), 'utf8'));
  return Boolean(dependencyManifest.types ?? dependencyManifest.typings);
}

function packageName(specifier: string): string {
  const parts = specifier.replace(/^node:/, '').split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The public declaration files, by path under outDir: those the entry points reach. */
function emitPublicDeclarations(): Map<string, string> {
  const configFile = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.build.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!configFile) throw new Error('tsconfig.build.json could not be read');
  const outDir = path.join(root, 'declarations-in-memory');
  const entries = ['src/index.ts', 'src/client/index.ts'].map((entry) => path.join(root, entry));
  const program = ts.createProgram(entries, {
    ...configFile.options,
    outDir,
    declaration: true,
    emitDeclarationOnly: true,
    sourceMap: false,
    inlineSources: false,
  });
  const emitted = new Map<string, string>();
  const result = program.emit(undefined, (fileName, text) => emitted.set(fileName, text));
  expect(result.emitSkipped).toBe(false);

  const reached = new Map<string, string>();
  const pending = entries.map((entry) => path.join(outDir, path.relative(root, entry)).replace(/\.ts$/, '.d.ts'));
  while (pending.length > 0) {
    const file = pending.pop()!;
    const text = emitted.get(file);
    const relative = path.relative(outDir, file);
    if (text === undefined || reached.has(relative)) continue;
    reached.set(relative, text);
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      if (imported.fileName.startsWith('.')) {
        pending.push(path.resolve(path.dirname(file), imported.fileName).replace(/\.js$/, '.d.ts'));
      }
    }
  }
  return reached;
}

describe('Package declarations', () => {
  // A declaration emit of src/ takes several seconds.
  it('import only modules a strict consumer has types for', () => {
    const declarations = emitPublicDeclarations();
    expect(declarations.has(path.join('src', 'index.d.ts'))).toBe(true);
    expect(declarations.has(path.join('src', 'client', 'index.d.ts'))).toBe(true);

    const available = new Set([
      ...builtinModules,
      ...Object.keys(manifest.peerDependencies),
      ...Object.keys(manifest.dependencies).filter(shipsOwnTypes),
    ]);
    const unavailable: string[] = [];
    for (const [file, text] of declarations) {
      for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
        if (imported.fileName.startsWith('.')) continue;
        if (!available.has(packageName(imported.fileName))) unavailable.push(`${file} imports '${imported.fileName}'`);
      }
    }
    expect(unavailable).toEqual(KNOWN_UNAVAILABLE);
  }, 60_000);
});
