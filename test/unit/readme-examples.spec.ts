import { extractExamples, readReadme, typeCheckExamples } from '../support/readme-examples.js';

/*
 * The README's examples compile as a consumer's code would (`nestjs-signalr` being src/), so they
 * cannot drift from the API. The second document is deliberately broken: it proves that a type error
 * fails the check and is reported at its README line.
 */
const BROKEN = [
  '# Broken',
  '',
  '```ts',
  "import { Hub } from 'nestjs-signalr';",
  '',
  "@Hub('/hubs/broken')",
  'export class BrokenHub extends Hub {',
  '  ping() {',
  "    return this.clients.al.send('pong');",
  '  }',
  '}',
  '```',
  '',
  '<!-- compile: with previous -->',
  '```ts',
  'const hub: BrokenHub = new BrokenHub();',
  "hub.ping('twice');",
  '```',
  '',
  '```typescript',
  "import { typedConnection } from 'nestjs-signalr/client';",
  "import { HubConnectionBuilder } from '@microsoft/signalr';",
  "typedConnection(new HubConnectionBuilder().withUrl('/x').build()).start();",
  '```',
].join('\n');

describe('README examples', () => {
  const readme = extractExamples(readReadme());
  const broken = extractExamples(BROKEN, 'broken.md');
  // A named block, imported by a block of its own document and by one of another document.
  const named = extractExamples(['<!-- compile: as shared.ts -->', '```ts', 'export const n = 1;', '```'].join('\n'), 'a.md').modules;
  const importing = extractExamples(['```ts', "import { n } from './shared';", 'const s: string = n;', '```'].join('\n'), 'b.md').modules;
  let errors: ReturnType<typeof typeCheckExamples>;

  beforeAll(() => {
    // One Program for all documents: the sources and their dependencies are read once.
    errors = typeCheckExamples({ 'README.md': readme.modules, 'broken.md': broken.modules, 'a.md': [...named, ...importing], 'b.md': importing });
  }, 60_000);

  it('has TypeScript examples, and skips only the ones marked with a reason', () => {
    expect(readme.modules.length).toBeGreaterThanOrEqual(8);
    for (const { reason } of readme.skipped) expect(reason.length).toBeGreaterThan(0);
  });

  it('compiles every TypeScript block of README.md', () => {
    const report = errors['README.md'].map(({ line, message }) => `README.md:${line}: ${message}`);
    expect(report).toEqual([]);
  });

  it('reports a broken block at its line, continued blocks included', () => {
    expect(errors['broken.md'].map(({ line, message }) => `${line}: ${message.split('\n')[0]}`)).toEqual([
      "9: TS2339: Property 'al' does not exist on type 'HubCallerClients<any>'.",
      '17: TS2554: Expected 0 arguments, but got 1.',
      "23: TS2339: Property 'start' does not exist on type 'TypedHubConnection<unknown, any, HubConnection>'.",
    ]);
  });

  it('joins marked blocks to the previous one, names blocks, and skips blocks marked as not compiled', () => {
    const markdown = [
      '```ts',
      'const a = 1;',
      '```',
      '<!-- compile: with previous -->',
      '```ts',
      'a;',
      '```',
      '<!-- not compiled: output -->',
      '```ts',
      'x',
      '```',
      '```bash',
      'ls',
      '```',
      '<!-- compile: as app.module.ts -->',
      '',
      '```typescript',
      'export const b = 2;',
      '```',
    ].join('\n');
    const { modules, skipped } = extractExamples(markdown, 'm.md');
    expect(modules).toEqual([
      { line: 2, code: 'const a = 1;\na;', lines: [2, 6] },
      { line: 18, file: 'app.module.ts', code: 'export const b = 2;', lines: [18] },
    ]);
    expect(skipped).toEqual([{ line: 10, reason: 'output' }]);
  });

  it('lets a block import a named one of the same document, and only of the same document', () => {
    expect(errors['a.md'].map(({ line, message }) => `${line}: ${message}`)).toEqual(["3: TS2322: Type 'number' is not assignable to type 'string'."]);
    expect(errors['b.md'].map(({ line, message }) => `${line}: ${message}`)).toEqual([
      "2: TS2307: Cannot find module './shared' or its corresponding type declarations.",
    ]);
  });

  it('refuses markers it cannot apply', () => {
    expect(() => extractExamples('<!-- compile: with previous -->\n```ts\nx\n```', 'm.md')).toThrow(
      'm.md:1: "with previous" but no TypeScript block came before',
    );
    expect(() => extractExamples('<!-- not compiled: -->\n```ts\nx\n```', 'm.md')).toThrow('m.md:1: "not compiled" needs a reason');
    expect(() => extractExamples('<!-- not compiled: a -->\ntext\n```ts\nx\n```', 'm.md')).toThrow('m.md:1: a marker must come right before a code block');
    expect(() => extractExamples('<!-- compile: maybe -->\n```ts\nx\n```', 'm.md')).toThrow('m.md:1: unknown marker <!-- compile: maybe -->');
    expect(() => extractExamples('<!-- not compiled: shell -->\n```bash\nls\n```', 'm.md')).toThrow(
      'm.md:1: a marker before a bash block, which is never compiled',
    );
    expect(() => extractExamples('<!-- compile: as a.ts -->\n```ts\nx\n```\n<!-- compile: as a.ts -->\n```ts\ny\n```', 'm.md')).toThrow(
      'm.md:5: a second block named a.ts',
    );
  });
});
