import { readFileSync } from 'fs';
import http, { Server } from 'http';
import type { AddressInfo } from 'net';
import { chromium, type Browser } from 'playwright-core';
import { startConformanceApp } from '../conformance/official-client.js';
import type { TestApp } from '../support/app.js';
import { CHROMIUM, describeInBrowser, LAUNCH_ARGS, recordPageProblems } from '../support/browser.js';

/** Page globals used by the functions run in Chromium (the project compiles without the DOM library). */
declare const signalR: any;
declare const WebSocket: any;
declare const Worker: any;
declare const Blob: any;
declare const URL: any;

/** The official browser bundles, served by the page's own origin as Karma serves them to the ASP.NET Core tests. */
const BUNDLES: Record<string, string> = {
  '/signalr.js': require.resolve('@microsoft/signalr/dist/browser/signalr.min.js'),
  '/signalr-protocol-msgpack.js': require.resolve('@microsoft/signalr-protocol-msgpack/dist/browser/signalr-protocol-msgpack.min.js'),
};

/** The user agent the served bundle sends: `Microsoft SignalR/<major>.<minor> (<version>; <os>; Browser; ...)`. */
const bundleVersion = (require('@microsoft/signalr/package.json') as { version: string }).version;
const [bundleMajor, bundleMinor] = bundleVersion.split('.');
const userAgentOfBundle = new RegExp(`^Microsoft SignalR/${bundleMajor}\\.${bundleMinor} \\(${bundleVersion.replace(/\./g, '\\.')}; .*; Browser; `);

/** The test page's origin (another port: another origin, the same site), with both bundles loaded. */
async function pageServer(): Promise<{ origin: string; server: Server }> {
  const html =
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script src="/signalr.js"></script><script src="/signalr-protocol-msgpack.js"></script>';
  const server = http.createServer((req, res) => {
    const file = BUNDLES[req.url ?? ''];
    const body = file === undefined ? html : readFileSync(file);
    res.writeHead(200, { 'Content-Type': file === undefined ? 'text/html; charset=utf-8' : 'text/javascript', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

interface PageRun {
  base: string;
  transport: string;
  protocol: 'json' | 'messagepack';
}

/** Runs in Chromium: the calls the ASP.NET Core browser tests make, with the texts they get. */
function conformanceInPage({ base, transport, protocol }: PageRun): Promise<Record<string, unknown>> {
  return (async () => {
    const settle = (promise: Promise<unknown>) =>
      promise.then(
        (value) => value,
        (error: Error) => `error: ${error.message}`,
      );
    let builder = new signalR.HubConnectionBuilder()
      .withUrl(`${base}/testhub`, { transport: signalR.HttpTransportType[transport] })
      .configureLogging(signalR.LogLevel.None);
    if (protocol === 'messagepack') builder = builder.withHubProtocol(new signalR.protocols.msgpack.MessagePackHubProtocol());
    const connection = builder.build();
    await connection.start();
    const result: Record<string, unknown> = {
      transport: await connection.invoke('GetActiveTransportName'),
      echo: await connection.invoke('Echo', '你好，世界！'),
      error: await settle(connection.invoke('ThrowException', 'An error occurred.')),
      userAgentHeader: await connection.invoke('GetHeader', 'X-SignalR-User-Agent'),
      contentType: await connection.invoke('GetContentTypeHeader'),
      cookie: await connection.invoke('GetCookie', 'testCookie'),
      expired: await connection.invoke('GetCookie', 'expiredCookie'),
    };
    const sent = await connection.invoke('SendComplexObject');
    result.complex = {
      ...sent,
      ByteArray: Array.from(sent.ByteArray instanceof Uint8Array ? sent.ByteArray : [sent.ByteArray]),
      DateTime: String(sent.DateTime instanceof Date ? sent.DateTime.toISOString() : sent.DateTime),
    };
    await connection.stop();

    const token = await (await fetch(`${base}/generateJwtToken`, { credentials: 'include' })).text();
    const authorized = new signalR.HubConnectionBuilder()
      .withUrl(`${base}/authorizedhub`, { transport: signalR.HttpTransportType[transport], accessTokenFactory: () => token })
      .configureLogging(signalR.LogLevel.None)
      .build();
    await authorized.start();
    result.authorized = await authorized.invoke('GetUserNameIdentifier');
    await authorized.stop();
    result.unauthorized = await settle(
      new signalR.HubConnectionBuilder()
        .withUrl(`${base}/authorizedhub`, { transport: signalR.HttpTransportType[transport] })
        .configureLogging(signalR.LogLevel.None)
        .build()
        .start(),
    );
    result.badNegotiate = await settle(
      new signalR.HubConnectionBuilder().withUrl(`${base}/bad-negotiate`).configureLogging(signalR.LogLevel.None).build().start(),
    );
    return result;
  })();
}

/** Runs in Chromium: ASP.NET Core's WebSocketTests.ts, a plain WebSocket to `/echo` without negotiate. */
function plainWebSocketInPage(url: string): Promise<{ data: unknown; code: number; wasClean: boolean }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    let data: unknown;
    socket.onopen = () => socket.send('message');
    socket.onmessage = (event: { data: unknown }) => {
      data = event.data;
      socket.close(); // no status code
    };
    socket.onclose = (event: { code: number; wasClean: boolean }) => resolve({ data, code: event.code, wasClean: event.wasClean });
  });
}

/**
 * Runs in Chromium: ASP.NET Core's WebWorkerTests.ts. A worker made from a blob (a worker script must
 * come from the page's origin) imports the client's web-worker build from the server, connects to
 * `/testhub` and has the server echo a message back to it; the page collects what the worker reports.
 */
function webWorkerInPage(base: string): Promise<string[]> {
  const workerSource = `
    let connection = null;
    onmessage = async (event) => {
      try {
        if (connection === null) {
          importScripts(event.data + '/lib/signalr-webworker/signalr.js');
          connection = new signalR.HubConnectionBuilder().withUrl(event.data + '/testhub').configureLogging(signalR.LogLevel.None).build();
          connection.on('message', (message) => postMessage('received: ' + message));
          await connection.start();
          postMessage('connected over ' + (await connection.invoke('GetActiveTransportName')));
        } else {
          await connection.invoke('InvokeWithString', event.data);
        }
      } catch (error) {
        postMessage('error: ' + error.message);
      }
    };`;
  return new Promise((resolve) => {
    const worker = new Worker(URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' })));
    const reports: string[] = [];
    worker.onmessage = (event: { data: string }) => {
      reports.push(event.data);
      if (event.data.startsWith('connected')) worker.postMessage('Hello World!');
      else {
        worker.terminate();
        resolve(reports);
      }
    };
    worker.postMessage(base);
  });
}

/**
 * The conformance app and the official browser bundles in headless Chromium, from another origin
 * (as Karma runs the ASP.NET Core browser tests): CORS with credentials everywhere (preflights
 * included), cookies, the headers browsers cannot set on WebSockets and event streams, JWT from the
 * query, MessagePack types.
 */
describeInBrowser('conformance-browser.spec.ts')('Conformance app in Chromium, from another origin', () => {
  let app: TestApp;
  let browser: Browser;
  let page: { origin: string; server: Server };

  beforeAll(async () => {
    app = await startConformanceApp();
    page = await pageServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => page?.server.close(resolve));
    await app?.close();
  });

  const runs: PageRun['transport'][] = ['WebSockets', 'ServerSentEvents', 'LongPolling'];
  const cases = [
    ...runs.map((transport) => ({ transport, protocol: 'json' as const })),
    { transport: 'WebSockets', protocol: 'messagepack' as const },
    { transport: 'LongPolling', protocol: 'messagepack' as const },
  ];

  it('a plain WebSocket to /echo echoes and closes cleanly with 1000', async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(page.origin);
    expect(await tab.evaluate(plainWebSocketInPage, app.baseUrl.replace(/^http/, 'ws') + '/echo')).toEqual({ data: 'message', code: 1000, wasClean: true });
    await context.close();
  });

  it('WebWorkers can use SignalR client: the web-worker build served at /lib/signalr-webworker/signalr.js', async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    const problems: string[] = [];
    recordPageProblems(tab, problems, () => false);
    await tab.goto(page.origin);
    expect(await tab.evaluate(webWorkerInPage, app.baseUrl)).toEqual(['connected over WebSockets', 'received: Hello World!']);
    await context.close();
    expect(problems).toEqual([]);
  });

  it.each(cases)('$protocol over $transport', async ({ transport, protocol }) => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    const problems: string[] = [];
    // The page stops each of its connections itself, so the client's stop race (a Close POST that
    // arrives after its connection is gone: 404) can occur at any point of the run; a POST that
    // mattered would show in the results below.
    recordPageProblems(tab, problems, () => true);
    await tab.goto(page.origin);
    const result = await tab.evaluate(conformanceInPage, { base: app.baseUrl, transport, protocol });
    await context.close();

    const viaHttp = transport === 'LongPolling'; // browsers cannot add headers to WebSockets and EventSource
    expect(result).toEqual({
      transport,
      echo: '你好，世界！',
      error: "error: An unexpected error occurred invoking 'ThrowException' on the server. InvalidOperationException: An error occurred.",
      userAgentHeader: viaHttp ? expect.stringMatching(userAgentOfBundle) : null,
      // The connection's request is the first poll, a GET: the fetch client labels only bodies.
      contentType: null,
      cookie: 'testValue',
      expired: null,
      complex: {
        String: 'hello world',
        IntArray: [1, 2, 3],
        ByteArray: protocol === 'json' ? ['AQID'] : [1, 2, 3],
        Guid: '00010203-0405-0607-0706-050403020100',
        DateTime: protocol === 'json' ? '2000-01-01T00:00:00Z' : '2000-01-01T00:00:00.000Z',
      },
      authorized: 'testuser',
      unauthorized: "error: Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'",
      badNegotiate: "error: Failed to complete negotiation with the server: Error: Some response from server: Status code '400'",
    });
    // The expected refusals (401, 400) are all the page reports.
    expect(problems.filter((problem) => !/^response: (401 POST \/authorizedhub\/negotiate|400 POST \/bad-negotiate\/negotiate)$/.test(problem))).toEqual([]);
  });
});
