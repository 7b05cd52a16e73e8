import { createRequire } from 'node:module';
import * as imported from 'nestjs-signalr';

/** An ESM app that also `require`s the package (or uses a CommonJS library that does) gets the same classes and tokens. */
export async function importAndRequireShareOneCopy(): Promise<void> {
  const required = createRequire(import.meta.url)('nestjs-signalr') as typeof imported;
  for (const name of ['SignalRModule', 'Hub', 'HubContext', 'InjectHubContext'] as const) {
    if (imported[name] !== required[name]) throw new Error(`import and require() load two copies of ${name}`);
  }
}
