import { ChildProcess, execFile, spawn } from 'child_process';
import { once } from 'events';
import type { IncomingMessage } from 'http';
import { request as httpsRequest } from 'https';
import path from 'path';
import { promisify } from 'util';
import { PLATFORM } from '../support/app.js';
import { hubClient, startedClient, stopClients, VARIANTS } from '../conformance/official-client.js';
import { request } from '../support/http.js';
import { freePort } from '../support/processes.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { waitUntil } from '../support/wait.js';

const ROOT = path.resolve(__dirname, '../..');
/**
 * The Express project builds the server as the npm script does (tsc with test/conformance/tsconfig.json,
 * which this proves still builds) and runs the output. The Fastify project runs the same sources through
 * test/support/ts-register.js instead: a second full compile of identical code cost half a minute.
 */
const BUILDS = PLATFORM === 'express';
const OUT_DIR = path.join(ROOT, 'dist', 'conformance-test');
const ENTRY = BUILDS
  ? [path.join(OUT_DIR, 'test', 'conformance', 'main.js')]
  : ['-r', path.join(ROOT, 'test', 'support', 'ts-register.js'), path.join(ROOT, 'test', 'conformance', 'main.ts')];

/** The fixture server as `npm run conformance:server` starts it, with its listener lines once it printed `count` of them. */
async function startServer(env: Record<string, string>, count: number): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn(process.execPath, ENTRY, { env: { ...process.env, PLATFORM, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const listening = output.split('\n').filter((line) => line.startsWith('Now listening on: '));
      if (listening.length >= count) {
        lines.push(...listening);
        resolve();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
  return { child, lines };
}

/** Sends SIGTERM; resolves with how the process ended (Nest closes the app, then re-raises the signal). */
async function stopServer(child: ChildProcess): Promise<string> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  return child.exitCode !== null ? `code ${child.exitCode}` : `signal ${child.signalCode}`;
}

/**
 * `npm run conformance:server` as a separate process: the listener lines it prints, PORT, the HTTPS
 * listener with a certificate made at start, and the official client over HTTPS.
 */
describe('Conformance server process', () => {
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    // The same compiler settings as the npm script, into a directory of the tests' own.
    if (BUILDS)
      await promisify(execFile)(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'test/conformance/tsconfig.json', '--outDir', OUT_DIR], {
        cwd: ROOT,
      });
  }, 120_000);
  afterAll(async () => {
    await stopClients();
    await Promise.all(children.map(stopServer));
  });

  it('listens on 127.0.0.1 on the port PORT names, prints one line, and stops on SIGTERM', async () => {
    const port = await freePort();
    const { child, lines } = await startServer({ PORT: String(port) }, 1);
    children.push(child);
    expect(lines).toEqual([`Now listening on: http://127.0.0.1:${port}`]);
    const response = await fetch(`http://127.0.0.1:${port}/testhub/negotiate?negotiateVersion=1`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await stopServer(child)).toBe('signal SIGTERM');
  });

  it('with HTTPS=1 prints the HTTPS listener first, and serves hubs, /echo and cookies over both', async () => {
    const { child, lines } = await startServer({ HTTPS: '1' }, 2);
    children.push(child);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^Now listening on: https:\/\/127\.0\.0\.1:\d+$/);
    expect(lines[1]).toMatch(/^Now listening on: http:\/\/127\.0\.0\.1:\d+$/);
    const [httpsBase, httpBase] = lines.map((line) => line.slice('Now listening on: '.length));
    expect(httpsBase.split(':')[2]).not.toBe(httpBase.split(':')[2]);

    // The official client in a process of its own, told to accept the self-signed certificate.
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'test/conformance/https-probe.js'), httpsBase], {
      cwd: ROOT,
      env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0' },
    });
    expect(
      stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual(['WebSockets', 'ServerSentEvents', 'LongPolling'].map((transport) => ({ transport, echo: '你好，世界！', cookie: 'testValue' })));
    const secure = await new Promise<IncomingMessage>((resolve, reject) =>
      httpsRequest(`${httpsBase}/echo/negotiate?negotiateVersion=1`, { method: 'POST', rejectUnauthorized: false, agent: false }, (res) =>
        resolve(res.resume()),
      )
        .on('error', reject)
        .end(),
    );
    expect(secure.statusCode).toBe(200);
    expect(secure.headers['set-cookie']![0]).toBe('testCookie=testValue; path=/; secure; samesite=none; partitioned');
    const plain = await request(`${httpBase}/echo/negotiate?negotiateVersion=1`, { method: 'POST' });
    expect(plain.headers['set-cookie']![0]).toBe('testCookie=testValue; path=/');
    expect(await stopServer(child)).toBe('signal SIGTERM');
  });

  describe('with REDIS_URL, two processes on one Redis form one cluster', () => {
    let redis: RedisServer;
    let a: string;
    let b: string;

    beforeAll(async () => {
      redis = await startRedis();
      const started = await Promise.all([startServer({ REDIS_URL: redis.url }, 1), startServer({ REDIS_URL: redis.url }, 1)]);
      children.push(...started.map(({ child }) => child));
      [a, b] = started.map(({ lines }) => lines[0].slice('Now listening on: '.length));
    });
    afterAll(async () => {
      await stopClients();
      await Promise.all(children.map(stopServer));
      await redis.close();
    });

    it('/clientresult on one process reaches a connection on the other (TestHub and TestHub without WebSockets)', async () => {
      const answering = hubClient(`${a}/testhub`, VARIANTS[0]);
      answering.on('Result', () => 10);
      await answering.start();
      const failing = hubClient(`${a}/testhub-nowebsockets`, VARIANTS[2]);
      failing.on('Result', () => {
        throw new Error('from callback');
      });
      await failing.start();
      // start() resolves at the handshake, before the connection's Redis channel is subscribed (as with
      // ASP.NET Core, whose lifetime manager connects after the handshake); messages are dispatched only
      // once it is, so an answered invocation says each connection is reachable from the other process.
      await Promise.all([answering.invoke('Echo', 'ready'), failing.invoke('Echo', 'ready')]);
      const ask = async (id: string) => (await fetch(`${b}/clientresult/${id}`)).text();
      expect(await ask(answering.connectionId!)).toBe('10');
      expect(await ask(failing.connectionId!)).toBe('Error: from callback');
      expect(await ask('nobody')).toBe("Connection 'nobody' does not exist.");
    });

    it('/clusterhub: Broadcast, groups and SendToConnection cross the processes', async () => {
      const onA = await startedClient(`${a}/clusterhub`, VARIANTS[3]);
      const onB = await startedClient(`${b}/clusterhub`, VARIANTS[1]);
      const seen: string[] = [];
      onB.on('Broadcast', (message: string) => seen.push(`broadcast ${message}`));
      onB.on('GroupMessage', (group: string, message: string) => seen.push(`group ${group} ${message}`));
      onB.on('Direct', (message: string) => seen.push(`direct ${message}`));
      await onB.invoke('JoinGroup', 'room');
      await onA.invoke('Broadcast', 'hello');
      await onA.invoke('SendToGroup', 'room', 'inside');
      await onA.invoke('SendToConnection', onB.connectionId, 'to you');
      await waitUntil(() => seen.length === 3);
      expect(seen).toEqual(['broadcast hello', 'group room inside', 'direct to you']);
      expect(await onB.invoke('GetConnectionId')).toBe(onB.connectionId);
    });
  });
});
