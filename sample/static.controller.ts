import { Controller, Get, Header } from '@nestjs/common';
import { existsSync } from 'fs';
import { readFile } from 'fs/promises';
import { dirname, join } from 'path';

/**
 * Where sample/public is. `npm run build` compiles TypeScript only and does not copy it to dist/,
 * so from dist/sample the folder is found in the project's sources instead.
 */
function findPublicDir(): string {
  const candidates = [
    join(__dirname, 'public'), // ts-jest / ts-node: sample/public next to this file
    join(__dirname, '..', '..', 'sample', 'public'), // dist/sample → <root>/sample/public
    join(process.cwd(), 'sample', 'public'), // started from the project root some other way
  ];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (found === undefined) throw new Error(`sample/public not found; looked in ${candidates.join(', ')}`);
  return found;
}

/** The official browser client, from the installed @microsoft/signalr package: no CDN, no build step. */
const signalrBundle = require.resolve('@microsoft/signalr/dist/browser/signalr.min.js');

/** Serves the demo page, its script and the SignalR browser client. */
@Controller()
export class StaticController {
  private readonly publicDir = findPublicDir();

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  async index(): Promise<string> {
    const page = await readFile(join(this.publicDir, 'index.html'), 'utf8');
    // A worker of `npm run start:cluster` names itself: the page then connects without negotiate.
    const worker = process.env.SAMPLE_CLUSTER_WORKER;
    return worker && /^\d+$/.test(worker) ? page.replace('data-cluster-worker=""', `data-cluster-worker="${worker}"`) : page;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  script(): Promise<string> {
    return readFile(join(this.publicDir, 'app.js'), 'utf8');
  }

  @Get('lib/signalr.min.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  signalr(): Promise<string> {
    return readFile(signalrBundle, 'utf8');
  }

  /** The bundle's source map, so browser dev tools do not log a 404. */
  @Get('lib/signalr.min.js.map')
  @Header('Content-Type', 'application/json; charset=utf-8')
  signalrMap(): Promise<string> {
    return readFile(join(dirname(signalrBundle), 'signalr.min.js.map'), 'utf8');
  }
}
