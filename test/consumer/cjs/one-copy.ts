import * as required from 'nestjs-signalr';

/** A CommonJS app that also `import()`s the package (or uses an ESM library that does) gets the same classes and tokens. */
export async function importAndRequireShareOneCopy(): Promise<void> {
  const imported = await import('nestjs-signalr');
  for (const name of ['SignalRModule', 'Hub', 'HubContext', 'InjectHubContext'] as const) {
    if (imported[name] !== required[name]) throw new Error(`import() and require() load two copies of ${name}`);
  }
}
