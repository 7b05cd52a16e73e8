import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import * as ts from 'typescript';

/*
 * An app that type-checks its libraries (`skipLibCheck: false`) reads every declaration file the
 * entry it imports reaches. Each module those files import must be there with its types in such an
 * app: Node's own, a required peer dependency, a dependency that ships its types, or an optional peer
 * that belongs to that very entry (an app importing `nestjs-signalr/redis` installs `ioredis`; one
 * importing only `nestjs-signalr` need not). `ws` ships no types (they are `@types/ws`, a
 * devDependency here), so no public declaration may import it. The declarations are emitted in memory
 * from src/, as `npm run build` would, and the entries are read from package.json's `exports`.
 */
const root = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  exports: Record<string, string | Record<'import' | 'require', { types: string; default: string }>>;
  typesVersions: Record<'*', Record<string, string[]>>;
};

/** The optional peers each entry's declarations import: exactly these, each declared optional. */
const OPTIONAL_PEERS_OF_ENTRY: Record<string, string[]> = {
  '.': [],
  './client': ['@microsoft/signalr'],
  './redis': ['ioredis'],
  './testing': ['@microsoft/signalr', '@nestjs/testing'],
  './terminus': ['@nestjs/terminus'],
};

function shipsOwnTypes(dependency: string): boolean {
  const dependencyManifest = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', dependency, 'package.json'), 'utf8'));
  return Boolean(dependencyManifest.types ?? dependencyManifest.typings);
}

function packageName(specifier: string): string {
  const parts = specifier.replace(/^node:/, '').split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function isOptionalPeer(name: string): boolean {
  return manifest.peerDependencies[name] !== undefined && manifest.peerDependenciesMeta[name]?.optional === true;
}

/**
 * package.json's code entries: subpath to its CommonJS declaration file, relative to the package
 * (dist/...). The `import` condition's `.d.mts` only re-exports that file (scripts/build-esm-entries.mjs).
 */
function entries(): Map<string, string> {
  const found = new Map<string, string>();
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    if (typeof target === 'string') continue; // ./package.json
    found.set(subpath, path.normalize(target.require.types));
  }
  return found;
}

/** Every declaration file src/ emits, by path relative to the package root (dist/src/...). */
function emitDeclarations(sources: string[]): Map<string, string> {
  const configFile = ts.getParsedCommandLineOfConfigFile(
    path.join(root, 'tsconfig.build.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!configFile) throw new Error('tsconfig.build.json could not be read');
  const outDir = path.join(root, 'dist');
  const program = ts.createProgram(sources, {
    ...configFile.options,
    outDir,
    declaration: true,
    emitDeclarationOnly: true,
    sourceMap: false,
    inlineSources: false,
  });
  const emitted = new Map<string, string>();
  const result = program.emit(undefined, (fileName, text) => emitted.set(path.relative(root, fileName), text));
  expect(result.emitSkipped).toBe(false);
  return emitted;
}

/** The declaration files one entry reaches through relative imports, by path. */
function reachedFrom(entry: string, emitted: Map<string, string>): Map<string, string> {
  const reached = new Map<string, string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    const text = emitted.get(file);
    if (text === undefined || reached.has(file)) continue;
    reached.set(file, text);
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      if (imported.fileName.startsWith('.')) pending.push(path.join(path.dirname(file), imported.fileName).replace(/\.js$/, '.d.ts'));
    }
  }
  return reached;
}

describe('Package declarations', () => {
  const exported = entries();

  it('has an entry for each of ., ./client, ./redis, ./testing and ./terminus, each with a typesVersions path for older resolvers', () => {
    expect([...exported.keys()].sort()).toEqual(Object.keys(OPTIONAL_PEERS_OF_ENTRY).sort());
    for (const [subpath, declarations] of exported) {
      const target = manifest.exports[subpath] as Record<'import' | 'require', { types: string; default: string }>;
      expect(target.import).toEqual({
        types: target.require.types.replace(/\.d\.ts$/, '.d.mts'),
        default: target.require.default.replace(/\.js$/, '.mjs'),
      });
      if (subpath === '.') continue;
      expect(manifest.typesVersions['*'][subpath.slice(2)]).toEqual([declarations.replace(/\\/g, '/')]);
    }
  });

  // A declaration emit of src/ takes several seconds.
  it('each entry imports only modules a strict consumer of that entry has types for', () => {
    const sources = [...exported.values()].map((declarations) => path.join(root, declarations.replace(/^dist[\\/]/, '').replace(/\.d\.ts$/, '.ts')));
    const emitted = emitDeclarations(sources);
    const always = new Set([
      ...builtinModules,
      ...Object.keys(manifest.peerDependencies).filter((name) => !isOptionalPeer(name)),
      ...Object.keys(manifest.dependencies).filter(shipsOwnTypes),
    ]);

    const unavailable: string[] = [];
    const optionalPeersUsed: Record<string, string[]> = {};
    for (const [subpath, entry] of exported) {
      const reached = reachedFrom(entry, emitted);
      expect(reached.has(entry)).toBe(true);
      const own = new Set(OPTIONAL_PEERS_OF_ENTRY[subpath].filter(isOptionalPeer));
      const used = new Set<string>();
      for (const [file, text] of reached) {
        for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
          if (imported.fileName.startsWith('.')) continue;
          const name = packageName(imported.fileName);
          if (own.has(name)) used.add(name);
          else if (!always.has(name)) unavailable.push(`${subpath}: ${file.replace(/\\/g, '/')} imports '${imported.fileName}'`);
        }
      }
      optionalPeersUsed[subpath] = [...used].sort();
    }
    expect(unavailable).toEqual([]);
    // Each entry's own optional peers are declared optional and really needed (the list is not stale).
    expect(optionalPeersUsed).toEqual(OPTIONAL_PEERS_OF_ENTRY);
  }, 60_000);
});
