import { HttpTransportType, HubConnection } from '@microsoft/signalr';
import { WebSocket } from 'ws';
import { closed, connect, nextCall, stopAll } from '../support/client.js';
import { pageWorker, requestOnce, SampleCluster, startSampleCluster } from '../support/sample-cluster.js';

/**
 * `npm run start:cluster` as a user starts it (from the TypeScript sources, no REDIS_URL): two
 * workers of Node's `cluster` module on one port, a private redis-server. The primary hands TCP
 * connections to the workers in turn, so consecutive connections land on different workers.
 */
describe('npm run start:cluster: two workers on one port', () => {
  let cluster: SampleCluster;
  let port: number;

  beforeAll(async () => {
    cluster = await startSampleCluster(2);
    port = cluster.port;
  });
  afterEach(() => stopAll());
  afterAll(() => cluster?.stop());

  it('hands consecutive TCP connections to the two workers in turn', async () => {
    const served = [];
    for (let i = 0; i < 4; i++) served.push(await pageWorker(port));
    const [first, second] = served;
    expect([first, second].sort()).toEqual(['1', '2']);
    expect(served).toEqual([first, second, first, second]);
  });

  it('official clients on WebSockets with skipNegotiation, one on each worker, chat through Redis', async () => {
    // The page request takes one worker's turn: the next connection goes to the other, the one after to it.
    const worker = await pageWorker(port);
    const options = { skipNegotiation: true };
    const onOther = await connect(`http://127.0.0.1:${port}/hubs/chat`, options);
    const onSame = await connect(`http://127.0.0.1:${port}/hubs/chat`, options);
    expect(await pageWorker(port)).not.toBe(worker); // the turn came back round as expected

    const toSame = nextCall(onSame, 'message');
    const toOther = nextCall(onOther, 'message');
    await onOther.invoke('SendMessage', 'from one worker');
    expect(await toSame).toEqual(['anonymous', 'from one worker']);
    expect(await toOther).toEqual(['anonymous', 'from one worker']);

    const back = nextCall(onOther, 'message');
    await onSame.invoke('SendMessage', 'and back');
    expect(await back).toEqual(['anonymous', 'and back']);
  });

  // Issue 18: the workers share connectionTokenSecret (SIGNALR_TOKEN_SECRET), so a WebSocket may reach
  // another worker than the negotiate before it.
  it('negotiate on one worker, then the WebSocket on the next worker: 101', async () => {
    const negotiated = await requestOnce(port, 'POST', '/hubs/chat/negotiate?negotiateVersion=1');
    expect(negotiated.status).toBe(200);
    const { connectionToken } = JSON.parse(negotiated.body) as { connectionToken: string };
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/hubs/chat?id=${encodeURIComponent(connectionToken)}`);
      socket.on('unexpected-response', (_req, response) => {
        resolve(response.statusCode!);
        socket.terminate();
      });
      socket.on('open', () => {
        resolve(101);
        socket.terminate();
      });
      socket.on('error', (error) => (error.message.startsWith('Unexpected server response') ? undefined : reject(error)));
    });
    expect(status).toBe(101);
  });

  it('official clients on WebSockets with negotiate, whatever worker each request reaches, chat through Redis', async () => {
    const clients = [];
    for (let i = 0; i < 4; i++) clients.push(await connect(`http://127.0.0.1:${port}/hubs/chat`));
    const heard = clients.map((client) => nextCall(client, 'message'));
    await clients[3].invoke('SendMessage', 'to every worker');
    expect(await Promise.all(heard)).toEqual(clients.map(() => ['anonymous', 'to every worker']));
  });

  it('Long Polling: each request on the next worker, those reaching the worker without the connection carried to the one with it', async () => {
    // One TCP connection per request, so the workers alternate: negotiate on one, the first poll (which starts the connection) on the other, and so on.
    const worker = await pageWorker(port);
    const negotiated = await requestOnce(port, 'POST', '/hubs/chat/negotiate?negotiateVersion=1');
    const path = `/hubs/chat?id=${encodeURIComponent((JSON.parse(negotiated.body) as { connectionToken: string }).connectionToken)}`;
    expect((await requestOnce(port, 'GET', path)).status).toBe(200); // starts the connection on this worker (the page's)
    expect(await requestOnce(port, 'POST', path, '{"protocol":"json","version":1}\u001e')).toEqual({ status: 200, body: '' }); // carried
    expect(await requestOnce(port, 'GET', path)).toEqual({ status: 200, body: '{}\u001e' });
    expect(await requestOnce(port, 'DELETE', path)).toEqual({ status: 202, body: '' }); // carried
    expect((await requestOnce(port, 'GET', path)).status).toBe(404); // gone from the worker that held it
    expect(await pageWorker(port)).not.toBe(worker); // the turns alternated throughout as counted
  });

  it('official clients on Server-Sent Events and Long Polling, whatever worker each request reaches, chat through Redis', async () => {
    const clients: HubConnection[] = [];
    for (const transport of [
      HttpTransportType.ServerSentEvents,
      HttpTransportType.LongPolling,
      HttpTransportType.ServerSentEvents,
      HttpTransportType.LongPolling,
    ]) {
      clients.push(await connect(`http://127.0.0.1:${port}/hubs/chat`, { transport }));
    }
    for (const [index, sender] of clients.entries()) {
      const heard = clients.map((client) => nextCall(client, 'message'));
      await sender.invoke('SendMessage', `from ${index}`);
      expect(await Promise.all(heard)).toEqual(clients.map(() => ['anonymous', `from ${index}`]));
    }
  });

  it('replaces a worker killed while serving: its client loses the connection, and the port has two workers again', async () => {
    const worker = await pageWorker(port);
    const client = await connect(`http://127.0.0.1:${port}/hubs/chat`, { skipNegotiation: true });
    const other = worker === '1' ? '2' : '1'; // the next turn after the page
    const killed = cluster.pidOf(other);
    const lost = closed(client);
    const replaced = cluster.nextLine(new RegExp(`^\\[worker ${other}\\] replaced, listening on ${port}$`));
    process.kill(killed, 'SIGKILL');
    expect(String(await lost)).toMatch(/^Error: WebSocket closed with status code: 1006/); // no Close message: the process is gone
    await replaced;
    expect(cluster.lines).toContain(`[worker ${other}] exited (SIGKILL) while serving: starting another`);
    expect(cluster.pidOf(other)).not.toBe(killed);
    const served = [await pageWorker(port), await pageWorker(port)];
    expect(served.sort()).toEqual(['1', '2']);
  });

  it('SIGTERM to the primary closes the clients cleanly, stops both workers, then the private Redis, and exits with 0', async () => {
    const client: HubConnection = await connect(`http://127.0.0.1:${port}/hubs/chat`, { skipNegotiation: true });
    const closedWith = closed(client);
    await cluster.stop();
    expect(await cluster.exit).toEqual({ code: 0, signal: null });
    expect(await closedWith).toBeUndefined(); // a Close message from the server, no error
    const ends = cluster.lines.filter((line) => / exited \(/.test(line) && !line.includes('while serving'));
    expect(ends.slice(0, 2).sort()).toEqual([
      expect.stringMatching(/^\[worker 1\] exited \((0|SIGTERM)\)$/),
      expect.stringMatching(/^\[worker 2\] exited \((0|SIGTERM)\)$/),
    ]);
    expect(ends).toHaveLength(3); // the worker killed in the test above is left out: it did not end the cluster
    expect(ends[2]).toBe('[redis] exited (0)');
  });
});
