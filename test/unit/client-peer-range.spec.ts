import * as fs from 'node:fs';
import * as path from 'node:path';
import { installedVersion } from '../support/clients/official.js';

/*
 * The optional peer range of `@microsoft/signalr` must admit every client release the matrix tests
 * (test/e2e/client-matrix.spec.ts): a release missing from it is one an app cannot install beside
 * us without npm's ERESOLVE, though the matrix proves it works. The releases are read from
 * package.json's devDependencies (the package itself and its `npm:@microsoft/signalr@…` aliases),
 * so a new alias is checked without touching this spec.
 */
const root = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The majors a range of `^N.0.0` alternatives admits; throws on any other form, which this check cannot read. */
function caretMajors(range: string): number[] {
  return range.split('||').map((alternative) => {
    const match = /^\^(\d+)\.0\.0$/.exec(alternative.trim());
    if (!match) throw new Error(`unexpected alternative '${alternative.trim()}' in '${range}'`);
    return Number(match[1]);
  });
}

/** devDependency names that install an `@microsoft/signalr` release (the package and its aliases). */
function installedClients(): string[] {
  return Object.entries(manifest.devDependencies)
    .filter(([name, spec]) => name === '@microsoft/signalr' || spec.startsWith('npm:@microsoft/signalr@'))
    .map(([name]) => name);
}

describe('@microsoft/signalr peer range', () => {
  const range = manifest.peerDependencies['@microsoft/signalr'];

  it('lists the releases the matrix installs: the package (the newest major) and one alias per older major', () => {
    const installed = installedClients().map((name) => `${name}@${installedVersion(name).split('.')[0]}`);
    expect(installed).toEqual(['@microsoft/signalr@11', 'signalr-10@10', 'signalr-3@3', 'signalr-6@6', 'signalr-8@8']);
  });

  it.each(installedClients())('admits the installed %s', (name) => {
    const major = Number(installedVersion(name).split('.')[0]);
    expect(caretMajors(range)).toContain(major);
  });

  it('admits every major from 3 on that Microsoft published (no 4.x exists)', () => {
    expect(caretMajors(range)).toEqual([3, 5, 6, 7, 8, 9, 10, 11]);
  });
});
