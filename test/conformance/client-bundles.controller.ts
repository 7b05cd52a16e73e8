import { Controller, Get, Header } from '@nestjs/common';
import { readFile } from 'fs/promises';
import { dirname, join } from 'path';

/** The official client's web-worker build, from the installed @microsoft/signalr package. */
const webWorkerBundle = require.resolve('@microsoft/signalr/dist/webworker/signalr.js');

/**
 * The static files of the ASP.NET Core functional-test app that its browser specs load from the
 * server: the client's `dist/webworker` build at `/lib/signalr-webworker/signalr.js`, which the
 * "WebWorkers can use SignalR client" spec imports into a worker (`importScripts`, which needs no CORS).
 */
@Controller('lib/signalr-webworker')
export class ClientBundlesController {
  @Get('signalr.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  webWorker(): Promise<string> {
    return readFile(webWorkerBundle, 'utf8');
  }

  /** Its source map, so a browser's dev tools find it instead of logging a 404. */
  @Get('signalr.js.map')
  @Header('Content-Type', 'application/json; charset=utf-8')
  webWorkerMap(): Promise<string> {
    return readFile(join(dirname(webWorkerBundle), 'signalr.js.map'), 'utf8');
  }
}
