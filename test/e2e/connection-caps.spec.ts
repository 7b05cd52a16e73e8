import { HubConnection, IStreamResult, Subject } from '@microsoft/signalr';
import { SignalRModule } from '../../src/index.js';
import { redisBackplane } from '../../src/redis/index.js';
import type { DefaultHubLifetimeManager } from '../../src/lifetime/default-hub-lifetime-manager.js';
import { SignalRHubRegistry } from '../../src/signalr.registry.js';
import { CAPS, CapsHub } from '../fixtures/connection-caps.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { closed, connect, stopAll } from '../support/client.js';
import { RawSocket } from '../support/raw-socket.js';
import { RedisServer, startRedis } from '../support/redis.js';
import { waitUntil } from '../support/wait.js';

const HUB = '/hubs/caps';

const TOO_MANY_STREAMS = (target: string) =>
  `Failed to invoke '${target}' because the connection already has ${CAPS.streams} stream(s) running, the maximum (maximumStreamsPerClient).`;
const TOO_MANY_UPLOADS = (target: string) =>
  `Failed to invoke '${target}' because the connection would have more than ${CAPS.uploads} client stream(s) open, the maximum (maximumUploadsPerClient).`;
const TOO_MANY_RESULTS = (connectionId: string) =>
  `Connection '${connectionId}' already has ${CAPS.clientResults} client result(s) pending, the maximum (maximumPendingClientResultsPerClient).`;

/** A stream's items as they come, and how it ended; `until` waits for a condition on them. */
function follow(result: IStreamResult<string>) {
  const items: string[] = [];
  let error: string | null = null;
  let wake: () => void = () => undefined;
  const subscription = result.subscribe({
    next: (item) => {
      items.push(item);
      wake();
    },
    complete: () => wake(),
    error: (failure) => {
      error = (failure as Error).message;
      wake();
    },
  });
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise<void>((resolve) => (wake = resolve));
  };
  return { items, error: () => error, until, dispose: () => subscription.dispose() };
}

/**
 * Per-connection caps on what one client can make the server hold (finding 3 of issue 13): server
 * streams, uploads and pending client results. Over a cap the request is refused with an error
 * Completion (the method is never called), the connection stays usable, and nothing is left behind.
 */
describe('per-connection caps', () => {
  let app: TestApp;
  let hub: CapsHub;
  let lifetime: DefaultHubLifetimeManager;

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [CapsHub] });
    hub = app.app.get(CapsHub);
    lifetime = app.app.get(SignalRHubRegistry).lifetimeFor(CapsHub) as DefaultHubLifetimeManager;
  });
  afterEach(async () => {
    await stopAll();
    await waitUntil(() => hub.liveTicks === 0 && hub.liveCollects === 0 && lifetime.pendingClientResults === 0);
  });
  afterAll(() => app.close());

  describe('server streams (maximumStreamsPerClient)', () => {
    it('refuses the streams beyond the cap with the exact text, while the first ones keep streaming', async () => {
      const client = await connect(app.url(HUB));
      const calledBefore = hub.calls.ticks;
      const streams = ['a', 'b', 'c', 'd', 'e'].map((label) => follow(client.stream<string>('Ticks', label)));
      for (const stream of streams) await stream.until(() => stream.items.length > 0 || stream.error() !== null);

      expect(streams.map((stream) => stream.error())).toEqual([null, null, null, TOO_MANY_STREAMS('Ticks'), TOO_MANY_STREAMS('Ticks')]);
      expect(hub.calls.ticks - calledBefore).toBe(CAPS.streams); // the refused ones never reached the method
      expect(await client.invoke('Emit', 'x')).toBe(CAPS.streams);
      for (const stream of streams.slice(0, 3)) await stream.until(() => stream.items.length === 2);
      expect(streams.map((stream) => stream.items)).toEqual([['a', 'a:x'], ['b', 'b:x'], ['c', 'c:x'], [], []]);

      // Once they end, the connection has its full allowance again: refusals left nothing registered.
      for (const stream of streams.slice(0, 3)) stream.dispose();
      await waitUntil(() => hub.liveTicks === 0);
      const again = ['f', 'g', 'h', 'i'].map((label) => follow(client.stream<string>('Ticks', label)));
      for (const stream of again) await stream.until(() => stream.items.length > 0 || stream.error() !== null);
      expect(again.map((stream) => stream.error())).toEqual([null, null, null, TOO_MANY_STREAMS('Ticks')]);
      expect(hub.calls.ticks - calledBefore).toBe(2 * CAPS.streams);
    });

    it('answers a flood of StreamInvocations with one error Completion each, and the connection stays', async () => {
      const raw = await RawSocket.handshaken(app.url(HUB));
      const extra = 1000;
      const calledBefore = hub.calls.ticks;
      const ids = Array.from({ length: CAPS.streams + extra }, (_, i) => String(i));
      for (let from = 0; from < ids.length; from += 100) {
        raw.send(...ids.slice(from, from + 100).map((invocationId) => ({ type: 4, invocationId, target: 'Ticks', arguments: [invocationId] })));
      }
      const records = await raw.nextRecords(ids.length);

      const items = records.filter((record) => record.type === 2);
      const refusals = records.filter((record) => record.type === 3);
      expect(items).toEqual(ids.slice(0, CAPS.streams).map((id) => ({ type: 2, invocationId: id, item: id })));
      expect(refusals).toEqual(ids.slice(CAPS.streams).map((id) => ({ type: 3, invocationId: id, error: TOO_MANY_STREAMS('Ticks') })));
      expect(hub.calls.ticks - calledBefore).toBe(CAPS.streams);
      expect(hub.liveTicks).toBe(CAPS.streams);

      raw.send({ type: 1, invocationId: 'echo', target: 'Echo', arguments: ['still here'] });
      expect(await raw.nextMessage()).toEqual({ type: 3, invocationId: 'echo', result: 'still here' });
      raw.close();
      await waitUntil(() => hub.liveTicks === 0);
    });
  });

  describe('uploads (maximumUploadsPerClient)', () => {
    it('refuses invocations whose uploads go beyond the cap, and the open uploads finish normally', async () => {
      const client = await connect(app.url(HUB));
      const calledBefore = hub.calls.collect;
      const subjects = Array.from({ length: CAPS.uploads + 2 }, () => new Subject<string>());
      const results = subjects.map((subject, i) => client.invoke<string>('Collect', `u${i}`, subject).catch((error: Error) => `error: ${error.message}`));
      expect(await results[3]).toBe(`error: ${TOO_MANY_UPLOADS('Collect')}`);
      expect(await results[4]).toBe(`error: ${TOO_MANY_UPLOADS('Collect')}`);
      expect(hub.calls.collect - calledBefore).toBe(CAPS.uploads);

      // Items for the refused uploads name no upload: ignored.
      for (const subject of subjects) {
        subject.next('one');
        subject.next('two');
        subject.complete();
      }
      expect(await Promise.all(results.slice(0, 3))).toEqual(['u0 one two', 'u1 one two', 'u2 one two']);
      expect(await client.invoke('Echo', 'still here')).toBe('still here');

      // Their uploads ended with them: a full allowance again.
      const more = Array.from({ length: CAPS.uploads }, () => new Subject<string>());
      const moreResults = more.map((subject, i) => client.invoke<string>('Collect', `v${i}`, subject));
      for (const subject of more) subject.complete();
      expect(await Promise.all(moreResults)).toEqual(['v0', 'v1', 'v2']);
    });

    it('counts the uploads of a stream invocation, and refuses it without starting the stream', async () => {
      const raw = await RawSocket.handshaken(app.url(HUB));
      const before = { ...hub.calls };
      raw.send(...[1, 2, 3].map((n) => ({ type: 1, invocationId: `c${n}`, target: 'Collect', arguments: [`c${n}`], streamIds: [`s${n}`] })));
      await waitUntil(() => hub.calls.collect === before.collect + CAPS.uploads);
      raw.send({ type: 4, invocationId: 'r1', target: 'Relay', arguments: [], streamIds: ['s4'] });
      expect(await raw.nextMessage()).toEqual({ type: 3, invocationId: 'r1', error: TOO_MANY_UPLOADS('Relay') });
      expect(hub.calls.relay).toBe(before.relay);

      // One upload ends, its invocation completes, and the stream fits.
      raw.send({ type: 2, invocationId: 's1', item: 'done' }, { type: 3, invocationId: 's1' });
      expect(await raw.nextMessage()).toEqual({ type: 3, invocationId: 'c1', result: 'c1 done' });
      raw.send({ type: 4, invocationId: 'r2', target: 'Relay', arguments: [], streamIds: ['s5'] }, { type: 2, invocationId: 's5', item: 'ok' });
      expect(await raw.nextMessage()).toEqual({ type: 2, invocationId: 'r2', item: 'OK' });
      raw.close();
    });
  });

  describe('client results (maximumPendingClientResultsPerClient)', () => {
    it('rejects the calls beyond the cap with the exact text, and the first ones get their answers', async () => {
      const client = await connect(app.url(HUB));
      client.on('Double', (value: number) => value * 2);
      const extra = 5;
      const outcomes = await client.invoke<Array<number | string>>('AskMany', CAPS.clientResults + extra);

      const answers = Array.from({ length: CAPS.clientResults }, (_, i) => i * 2);
      const refusals = Array.from({ length: extra }, () => TOO_MANY_RESULTS(client.connectionId!));
      expect(outcomes).toEqual([...answers, ...refusals]);
      expect(lifetime.pendingClientResults).toBe(0);
      // Nothing counted stays behind: the full allowance again.
      expect(await client.invoke('AskMany', CAPS.clientResults)).toEqual(answers);
    });

    it('holds the cap of pending calls with one listener on the connection (no MaxListenersExceededWarning), fails the next, and fails all on disconnect', async () => {
      const client = await connect(app.url(HUB));
      let asked = 0;
      let allAsked: () => void = () => undefined;
      const everyCallArrived = new Promise<void>((resolve) => (allAsked = resolve));
      client.on('Hang', () => {
        if (++asked === CAPS.clientResults) allAsked();
        return new Promise(() => undefined); // never answers
      });
      const id = client.connectionId!;
      const heldBefore = hub.held.length;
      const listenersBefore = await client.invoke<number>('AbortListeners');

      expect(await client.invoke('Hold', CAPS.clientResults)).toBe(CAPS.clientResults);
      await everyCallArrived;
      expect(lifetime.pendingClientResults).toBe(CAPS.clientResults);
      // Node warns beyond ten listeners on one signal; the pending calls share one.
      expect(await client.invoke<number>('AbortListeners')).toBe(listenersBefore + 1);
      // Unhandled in the hub, the refusal fails the caller's invocation as any error does.
      await expect(client.invoke('AskOnce')).rejects.toThrow("An unexpected error occurred invoking 'AskOnce' on the server.");
      expect(await client.invoke('Echo', 'still here')).toBe('still here');

      const ended = closed(client);
      await client.stop();
      await ended;
      await waitUntil(() => hub.held.length === heldBefore + CAPS.clientResults);
      expect(hub.held.slice(heldBefore)).toEqual(Array.from({ length: CAPS.clientResults }, (_, i) => `${i}: IOException: Connection '${id}' disconnected.`));
      expect(lifetime.pendingClientResults).toBe(0);
    });

    it('lets go of the connection once its last pending call is answered', async () => {
      const client = await connect(app.url(HUB));
      client.on('Double', (value: number) => value * 2);
      const listenersBefore = await client.invoke<number>('AbortListeners');
      expect(await client.invoke('AskMany', 12)).toEqual(Array.from({ length: 12 }, (_, i) => i * 2));
      expect(await client.invoke<number>('AbortListeners')).toBe(listenersBefore);
    });
  });

  it('releases streams and uploads of a connection that leaves while holding its full allowance', async () => {
    const client: HubConnection = await connect(app.url(HUB));
    const calledBefore = hub.calls.collect;
    const streams = ['a', 'b', 'c'].map((label) => follow(client.stream<string>('Ticks', label)));
    for (const stream of streams) await stream.until(() => stream.items.length > 0);
    const uploads = Array.from({ length: CAPS.uploads }, (_, i) => client.invoke('Collect', `u${i}`, new Subject<string>()).catch(() => 'ended'));
    await waitUntil(() => hub.calls.collect === calledBefore + CAPS.uploads);
    expect(hub.liveCollects).toBe(CAPS.uploads);
    await client.stop();
    expect(await Promise.all(uploads)).toEqual(['ended', 'ended', 'ended']);
    await waitUntil(() => hub.liveTicks === 0 && hub.liveCollects === 0);
  });
});

describe('per-connection caps with a Redis backplane', () => {
  let redis: RedisServer;
  let asking: TestApp;
  let owning: TestApp;

  beforeAll(async () => {
    redis = await startRedis();
    const start = () => startApp({ imports: [SignalRModule.forRoot({ backplane: redisBackplane({ url: redis.url }) })], providers: [CapsHub] });
    [asking, owning] = await Promise.all([start(), start()]);
  }, 30_000);
  afterAll(async () => {
    await stopAll();
    await Promise.all([asking?.close(), owning?.close()]);
    await redis?.close();
  });

  it('counts client results another instance asks for, and refuses those beyond the cap with the same error', async () => {
    const target = await connect(owning.url(HUB));
    const caller = await connect(asking.url(HUB));
    const gates: Array<() => void> = [];
    target.on('Gate', (value: number) => new Promise((resolve) => gates.push(() => resolve(value * 2))));
    const askingHub = asking.app.get(CapsHub);
    const extra = 5;

    const outcomes = caller.invoke<Array<number | string>>('AskManyOf', target.connectionId!, CAPS.clientResults + extra);
    // The refusals come back while the first calls still wait for their answers.
    await waitUntil(() => gates.length === CAPS.clientResults && askingHub.settled === extra, 10_000);
    for (const open of gates) open();

    const answers = Array.from({ length: CAPS.clientResults }, (_, i) => i * 2);
    const refusals = Array.from({ length: extra }, () => `Error: ${TOO_MANY_RESULTS(target.connectionId!)}`);
    expect(await outcomes).toEqual([...answers, ...refusals]);
  });
});
