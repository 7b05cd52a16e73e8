import { readFileSync } from 'fs';
import { dirname, join } from 'path';
import * as ts from 'typescript';

/*
 * The README's TypeScript examples as a consumer compiles them: every ```ts / ```typescript block is
 * type-checked against this repository's sources, with `nestjs-signalr`, `nestjs-signalr/client`,
 * `nestjs-signalr/redis`, `nestjs-signalr/testing` and `nestjs-signalr/terminus` mapped to src/ as the published package's entries. A block is a module of its own unless the line
 * before it says `<!-- compile: with previous -->` (then it continues the previous block's module) or
 * `<!-- not compiled: <reason> -->` (then it is skipped, visibly, with its reason). A block after
 * `<!-- compile: as app.module.ts -->` is a module with that file name, which later blocks of the same
 * document can import (`from './app.module'`), as the files of a quick start would.
 */

const ROOT = join(__dirname, '..', '..');
const WITH_PREVIOUS = /^<!--\s*compile:\s*with previous\s*-->$/;
const NOT_COMPILED = /^<!--\s*not compiled:(.*)-->$/;
const COMPILE_AS = /^<!--\s*compile:\s*as\s+([\w.-]+\.ts)\s*-->$/;
const OTHER_MARKER = /^<!--\s*(compile|not compiled)\b/;
const FENCE = /^```(\S*)\s*$/;
const TYPESCRIPT = new Set(['ts', 'typescript']);

/** One compiled unit: blocks joined into one module, with the document line of each of its lines. */
export interface ExampleModule {
  /** The document line (1-based) of the unit's first block's first code line. */
  readonly line: number;
  /** The file name its marker gave it, if any. */
  readonly file?: string;
  readonly code: string;
  /** For each line of `code`, the document line it came from. */
  readonly lines: readonly number[];
}

/** A type error, placed at the document line it came from. */
export interface ExampleError {
  readonly line: number;
  readonly message: string;
}

/** The TypeScript units of a Markdown document; throws on a marker it cannot place or read. */
export function extractExamples(markdown: string, name = 'README.md'): { modules: ExampleModule[]; skipped: Array<{ line: number; reason: string }> } {
  const source = markdown.split('\n');
  const modules: Array<{ line: number; file?: string; code: string[]; lines: number[] }> = [];
  const skipped: Array<{ line: number; reason: string }> = [];
  let marker: { kind: 'with previous' | 'not compiled' | 'as'; reason: string; line: number } | null = null;
  for (let index = 0; index < source.length; index++) {
    const text = source[index].trim();
    const fence = FENCE.exec(text);
    if (fence === null) {
      if (WITH_PREVIOUS.test(text)) marker = { kind: 'with previous', reason: '', line: index + 1 };
      else if (COMPILE_AS.test(text)) marker = { kind: 'as', reason: COMPILE_AS.exec(text)![1], line: index + 1 };
      else if (NOT_COMPILED.test(text)) marker = { kind: 'not compiled', reason: NOT_COMPILED.exec(text)![1].trim(), line: index + 1 };
      else if (OTHER_MARKER.test(text)) throw new Error(`${name}:${index + 1}: unknown marker ${text}`);
      else if (text !== '' && marker !== null) throw new Error(`${name}:${marker.line}: a marker must come right before a code block`);
      continue;
    }
    const start = index + 1;
    let end = start;
    while (end < source.length && !/^```\s*$/.test(source[end].trim())) end++;
    if (end === source.length) throw new Error(`${name}:${index + 1}: the code block is not closed`);
    const language = fence[1].toLowerCase();
    const code = source.slice(start, end);
    const lines = code.map((_, offset) => start + offset + 1);
    index = end;
    const applied = marker;
    marker = null;
    if (!TYPESCRIPT.has(language)) {
      if (applied !== null) throw new Error(`${name}:${applied.line}: a marker before a ${language || 'plain'} block, which is never compiled`);
      continue;
    }
    if (applied?.kind === 'not compiled') {
      if (applied.reason === '') throw new Error(`${name}:${applied.line}: "not compiled" needs a reason`);
      skipped.push({ line: start + 1, reason: applied.reason });
    } else if (applied?.kind === 'with previous') {
      const previous = modules[modules.length - 1];
      if (previous === undefined) throw new Error(`${name}:${applied.line}: "with previous" but no TypeScript block came before`);
      previous.code.push(...code);
      previous.lines.push(...lines);
    } else if (applied?.kind === 'as') {
      if (modules.some((unit) => unit.file === applied.reason)) throw new Error(`${name}:${applied.line}: a second block named ${applied.reason}`);
      modules.push({ line: start + 1, file: applied.reason, code: [...code], lines });
    } else {
      modules.push({ line: start + 1, code: [...code], lines });
    }
  }
  if (marker !== null) throw new Error(`${name}:${marker.line}: a marker must come right before a code block`);
  return {
    modules: modules.map(({ line, file, code, lines }) => ({ line, ...(file === undefined ? {} : { file }), code: code.join('\n'), lines })),
    skipped,
  };
}

/** tsconfig.json's options, plus the package name mapped to the sources, as a consumer's import sees it. */
function compilerOptions(): ts.CompilerOptions {
  const configPath = join(ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  return {
    ...options,
    noEmit: true,
    // Examples declare what they show and need not use it all.
    noUnusedLocals: false,
    noUnusedParameters: false,
    baseUrl: ROOT,
    paths: {
      'nestjs-signalr': ['src/index.ts'],
      'nestjs-signalr/client': ['src/client/index.ts'],
      'nestjs-signalr/redis': ['src/redis/index.ts'],
      'nestjs-signalr/testing': ['src/testing/index.ts'],
      'nestjs-signalr/terminus': ['src/terminus/index.ts'],
    },
  };
}

/**
 * Type-checks every document's units in one Program (the sources are read once for all of them) and
 * returns each document's errors, by document line. Only the units' own errors count: the sources are
 * `npm run typecheck`'s business.
 */
export function typeCheckExamples(documents: Record<string, ExampleModule[]>): Record<string, ExampleError[]> {
  const options = compilerOptions();
  const virtual = new Map<string, { document: string; unit: ExampleModule }>();
  for (const [document, units] of Object.entries(documents)) {
    // A folder per document under the root, so that bare imports resolve from this repository's
    // node_modules and named blocks import each other. Nothing is written there.
    const folder = join(ROOT, '__examples__', document.replace(/\W/g, '_'));
    units.forEach((unit, index) => virtual.set(join(folder, unit.file ?? `example-${index}.ts`), { document, unit }));
  }
  const folders = new Set([...virtual.keys()].map((fileName) => dirname(fileName)));
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile, directoryExists } = host;
  host.fileExists = (fileName) => virtual.has(fileName) || fileExists.call(host, fileName);
  host.directoryExists = (folder) => folders.has(folder) || (directoryExists?.call(host, folder) ?? ts.sys.directoryExists(folder));
  host.readFile = (fileName) => virtual.get(fileName)?.unit.code ?? readFile.call(host, fileName);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const example = virtual.get(fileName);
    // `export {}` keeps every unit a module, so that two examples may each declare a `ChatHub`.
    if (example !== undefined) return ts.createSourceFile(fileName, `${example.unit.code}\nexport {};\n`, languageVersion, true);
    return getSourceFile.call(host, fileName, languageVersion, onError, shouldCreate);
  };
  const program = ts.createProgram({ rootNames: [...virtual.keys()], options, host });
  const errors: Record<string, ExampleError[]> = Object.fromEntries(Object.keys(documents).map((document) => [document, []]));
  for (const [fileName, { document, unit }] of virtual) {
    const file = program.getSourceFile(fileName)!;
    const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    for (const diagnostic of diagnostics) {
      const offset = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line;
      errors[document].push({
        line: unit.lines[offset] ?? unit.line,
        message: `TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
      });
    }
  }
  return errors;
}

/** The repository's README.md. */
export function readReadme(): string {
  return readFileSync(join(ROOT, 'README.md'), 'utf8');
}
