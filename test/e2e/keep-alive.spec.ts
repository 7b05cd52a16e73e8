import { HubConnectionState } from '@microsoft/signalr';
import { SignalRModule } from '../../src/index.js';
import { ClientTimeoutHub, DetailedClientTimeoutHub, PingHub, SlowPingHub } from '../fixtures/robust-keep-alive.hubs.js';
import { tappedWebSocket } from '../fixtures/robust-tapped-websocket.js';
import { startApp, TestApp } from '../support/app.js';
import { closed, connect, stopAll } from '../support/client.js';
import { parseRecords, RawSocket, RS } from '../support/raw-socket.js';

/** Module keep-alive; PingHub and both timeout hubs take it, SlowPingHub overrides it with 400 ms. */
// Wide enough that a loaded CI machine (two platforms in parallel, a browser) cannot blur them; the
// jitter allowance is far below the intervals, so an early ping still fails.
const KEEP_ALIVE = 250;
const SLOW_KEEP_ALIVE = 1000;
const CLIENT_TIMEOUT = 750;
const JITTER = 50;
const PING = `{"type":6}${RS}`;
const TIMED_OUT = '{"type":7,"error":"Connection closed with an error.","allowReconnect":true}' + RS;
const TIMEOUT_DETAIL = "OperationCanceledException: Client hasn't sent a message/ping within the configured clientTimeoutInterval.";

/** The next frame as text, with the time it was read. */
async function nextText(raw: RawSocket): Promise<{ text: string; at: number }> {
  const frame = await raw.nextFrame();
  return { text: frame.data.toString(), at: Date.now() };
}

/** Reads `count` frames and expects each to be exactly one Ping text frame; returns their arrival times. */
async function expectPings(raw: RawSocket, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const frame = await raw.nextFrame();
    expect({ text: frame.data.toString(), binary: frame.binary }).toEqual({ text: PING, binary: false });
    times.push(Date.now());
  }
  return times;
}

function gaps(times: number[]): number[] {
  return times.slice(1).map((time, i) => time - times[i]);
}

describe('keep-alive and timeouts', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({
      imports: [SignalRModule.forRoot({ keepAliveInterval: KEEP_ALIVE })],
      providers: [PingHub, SlowPingHub, ClientTimeoutHub, DetailedClientTimeoutHub],
    });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  describe('server pings', () => {
    it('sends exactly {"type":6}+RS to an idle connection every keepAliveInterval', async () => {
      const raw = await RawSocket.handshaken(app.url('/hubs/robust/ping'));
      const handshakeAt = Date.now();
      const times = await expectPings(raw, 4);
      // Each ping is due a keepAliveInterval after the previous one went out, so none arrives before its
      // time. Checked against that time rather than the gap to the previous receipt: a receipt this
      // process noticed late (its event loop is the app's too) would shorten the next gap.
      times.forEach((time, k) => expect(time - handshakeAt).toBeGreaterThanOrEqual((k + 1) * KEEP_ALIVE - JITTER));
      for (const gap of [times[0] - handshakeAt, ...gaps(times)]) expect(gap).toBeLessThan(SLOW_KEEP_ALIVE);
      raw.close();
    });

    it('sends no ping while other messages keep going out, and pings once they stop', async () => {
      const raw = await RawSocket.handshaken(app.url('/hubs/robust/ping'));
      // Round trips for several keep-alive intervals: the server writes a Completion on each.
      const until = Date.now() + 4 * KEEP_ALIVE;
      let invocations = 0;
      // The server writes its last Completion after the last invocation left here, so its ping cannot
      // come sooner than KEEP_ALIVE after that; timed from when the test read the Completion instead, a
      // stall of the test process (a loaded machine, another Jest worker) looked like an early ping.
      let lastSent = 0;
      while (Date.now() < until) {
        const id = String(++invocations);
        lastSent = Date.now();
        raw.send({ type: 1, invocationId: id, target: 'Echo', arguments: [id] });
        expect(parseRecords((await raw.nextFrame()).data.toString())).toEqual([{ type: 3, invocationId: id, result: id }]);
      }
      expect(invocations).toBeGreaterThan(4);
      expect(raw.frames.map((frame) => frame.data.toString())).not.toContain(PING);

      const ping = await nextText(raw);
      expect(ping.text).toBe(PING);
      expect(ping.at - lastSent).toBeGreaterThanOrEqual(KEEP_ALIVE - JITTER);
      raw.close();
    });

    it('lets a per-hub keepAliveInterval beat the module option', async () => {
      const [moduleHub, overriding] = await Promise.all([
        RawSocket.handshaken(app.url('/hubs/robust/ping')),
        RawSocket.handshaken(app.url('/hubs/robust/slow-ping')),
      ]);
      const handshakeAt = Date.now();
      const [moduleTimes, overridingTimes] = await Promise.all([expectPings(moduleHub, 2), expectPings(overriding, 2)]);

      expect(moduleTimes[0] - handshakeAt).toBeLessThan(SLOW_KEEP_ALIVE - JITTER);
      for (const gap of [overridingTimes[0] - handshakeAt, ...gaps(overridingTimes)]) {
        expect(gap).toBeGreaterThanOrEqual(SLOW_KEEP_ALIVE - JITTER);
        expect(gap).toBeLessThan(4 * SLOW_KEEP_ALIVE);
      }
      // By the overriding hub's second ping the module's interval has pinged the other several times.
      expect(moduleHub.frames.length - 1).toBeGreaterThanOrEqual(4);
      moduleHub.close();
      overriding.close();
    });

    it('keeps an official client with default settings connected across pings', async () => {
      const tap = tappedWebSocket();
      const client = await connect(app.url('/hubs/robust/ping'), tap.options);
      let closeError: Error | undefined | null = null;
      void closed(client).then((error) => (closeError = error));
      await tap.until((frames) => frames.filter((frame) => frame === PING).length >= 5);
      expect(closeError).toBeNull();
      expect(client.state).toBe(HubConnectionState.Connected);
      await expect(client.invoke('Echo', 'alive')).resolves.toBe('alive');
    });

    it("resets the official client's server timeout, so a short one survives many intervals", async () => {
      const tap = tappedWebSocket();
      const client = await connect(app.url('/hubs/robust/ping'), tap.options);
      client.serverTimeoutInMilliseconds = 3 * KEEP_ALIVE;
      let closeError: Error | undefined | null = null;
      void closed(client).then((error) => (closeError = error));
      const pingsBefore = tap.frames.filter((frame) => frame === PING).length;
      // Ten pings take well over three times the client's server timeout.
      await tap.until((frames) => frames.filter((frame) => frame === PING).length >= pingsBefore + 10);
      expect(closeError).toBeNull();
      await expect(client.invoke('Echo', 'alive')).resolves.toBe('alive');
    });
  });

  describe('client timeout', () => {
    it('closes a client that pinged once and went silent', async () => {
      const raw = await RawSocket.handshaken(app.url('/hubs/robust/client-timeout'));
      raw.send({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] });
      const { result: id } = await raw.nextMessage();
      raw.send({ type: 6 });
      const silentFrom = Date.now();

      let frame = await nextText(raw);
      while (frame.text === PING) frame = await nextText(raw);
      expect(frame.text).toBe(TIMED_OUT);
      expect(frame.at - silentFrom).toBeGreaterThanOrEqual(CLIENT_TIMEOUT - JITTER);
      await expect(raw.closed()).resolves.toBe(1000);

      const error = await app.app.get(ClientTimeoutHub).lifecycle.disconnected(id);
      expect(`${error?.name}: ${error?.message}`).toBe(TIMEOUT_DETAIL);
    });

    it('adds the OperationCanceledException detail with enableDetailedErrors', async () => {
      const raw = await RawSocket.handshaken(app.url('/hubs/robust/client-timeout-detailed'));
      raw.send({ type: 6 });
      let frame = await nextText(raw);
      while (frame.text === PING) frame = await nextText(raw);
      expect(frame.text).toBe(JSON.stringify({ type: 7, error: `Connection closed with an error. ${TIMEOUT_DETAIL}`, allowReconnect: true }) + RS);
      await expect(raw.closed()).resolves.toBe(1000);
    });

    it('does not time out a client that never pinged; its first Ping arms the timeout', async () => {
      const silent = await RawSocket.handshaken(app.url('/hubs/robust/client-timeout'));
      const handshakeAt = Date.now();
      // Only the server talks: keep-alive pings until well past twice the client timeout.
      const times = await expectPings(silent, Math.ceil((2 * CLIENT_TIMEOUT) / KEEP_ALIVE) + 1);
      expect(times[times.length - 1] - handshakeAt).toBeGreaterThan(2 * CLIENT_TIMEOUT);
      expect(silent.closeCode).toBeUndefined();
      silent.send({ type: 1, invocationId: '1', target: 'Echo', arguments: ['still open'] });
      expect(await silent.nextMessage()).toEqual({ type: 3, invocationId: '1', result: 'still open' });

      // An invocation does not arm it either; a Ping does.
      silent.send({ type: 6 });
      let frame = await nextText(silent);
      while (frame.text === PING) frame = await nextText(silent);
      expect(frame.text).toBe(TIMED_OUT);
      await expect(silent.closed()).resolves.toBe(1000);
    });

    it('keeps a client that goes on sending within the timeout', async () => {
      const raw = await RawSocket.handshaken(app.url('/hubs/robust/client-timeout'));
      raw.send({ type: 6 });
      // Answer each server ping with one of ours (every ~100 ms, inside the 300 ms timeout).
      const times = await (async () => {
        const seen: number[] = [];
        while (seen.length < 8) {
          seen.push(...(await expectPings(raw, 1)));
          raw.send({ type: 6 });
        }
        return seen;
      })();
      expect(times[times.length - 1] - times[0]).toBeGreaterThan(2 * CLIENT_TIMEOUT);
      expect(raw.closeCode).toBeUndefined();
      raw.close();
    });
  });
});
