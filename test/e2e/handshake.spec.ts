import { HttpTransportType, HubConnectionBuilder, JsonHubProtocol, LogLevel } from '@microsoft/signalr';
import { SignalRModule } from '../../src/index.js';
import { ProtocolDetailedHub } from '../fixtures/protocol-detailed.hub.js';
import { ProtocolIdentityHub } from '../fixtures/protocol-identity.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, stopAll } from '../support/client.js';
import { parseRecords, RawSocket, RS } from '../support/raw-socket.js';

const PLAIN = '/hubs/identity';
/** enableDetailedErrors, keepAliveInterval 40 ms, handshakeTimeout 300 ms. */
const DETAILED = '/hubs/detailed';
const HANDSHAKE = `{"protocol":"json","version":1}${RS}`;
const UNEXPECTED = 'An unexpected error occurred during connection handshake.';

/** JSON.parse's own message for `text`, which the server's detailed error carries. */
function jsonParseError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`valid JSON: ${text}`);
}

/** An official client's JSON protocol under another name: its handshake asks for that protocol. */
class FooProtocol extends JsonHubProtocol {
  override readonly name = 'foo';
}

describe('handshake over the wire', () => {
  let app: TestApp;
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [ProtocolIdentityHub, ProtocolDetailedHub] });
  });
  afterEach(async () => {
    await stopAll();
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(async () => {
    await app.close();
  });

  async function open(path = PLAIN): Promise<RawSocket> {
    const socket = await RawSocket.open(app.url(path));
    sockets.push(socket);
    return socket;
  }

  /** Sends a handshake and expects exactly one text frame, `{"error":...}` + RS, then a 1000 close. */
  async function handshakeError(text: string, path = PLAIN): Promise<string> {
    const socket = await open(path);
    socket.sendText(text);
    expect(await socket.closed()).toBe(1000);
    expect(socket.frames).toHaveLength(1);
    expect(socket.frames[0].binary).toBe(false);
    const frame = socket.frames[0].data.toString('utf8');
    expect(frame.endsWith(RS)).toBe(true);
    const records = parseRecords(frame);
    expect(records).toHaveLength(1);
    expect(Object.keys(records[0])).toEqual(['error']);
    expect(frame).toBe(`${JSON.stringify({ error: records[0].error })}${RS}`);
    return records[0].error;
  }

  /** Reads frames until the records received so far satisfy `done`; returns their text, joined. */
  async function textUntil(socket: RawSocket, done: (records: any[]) => boolean): Promise<string> {
    let text = '';
    for (;;) {
      text += (await socket.nextFrame()).data.toString('utf8');
      if (done(parseRecords(text))) return text;
    }
  }

  describe('errors: {"error":"..."} + RS, then close 1000', () => {
    it('refuses an unknown protocol', async () => {
      expect(await handshakeError(`{"protocol":"foo","version":1}${RS}`)).toBe("The protocol 'foo' is not supported.");
    });

    it('refuses a messagepack version above 2', async () => {
      expect(await handshakeError(`{"protocol":"messagepack","version":3}${RS}`)).toBe("The server does not support version 3 of the 'messagepack' protocol.");
    });

    it('refuses a version above 2', async () => {
      expect(await handshakeError(`{"protocol":"json","version":3}${RS}`)).toBe("The server does not support version 3 of the 'json' protocol.");
    });

    it('answers malformed JSON and missing properties with the generic text', async () => {
      expect(await handshakeError(`{"protocol":${RS}`)).toBe(UNEXPECTED);
      expect(await handshakeError(`{"version":1}${RS}`)).toBe(UNEXPECTED);
      expect(await handshakeError(`{"protocol":"json"}${RS}`)).toBe(UNEXPECTED);
      expect(await handshakeError(`not json${RS}`)).toBe(UNEXPECTED);
    });

    it('adds the exception detail with enableDetailedErrors', async () => {
      expect(await handshakeError(`{"protocol":${RS}`, DETAILED)).toBe(
        `${UNEXPECTED} InvalidDataException: Error reading JSON. ${jsonParseError('{"protocol":')}`,
      );
      expect(await handshakeError(`{"version":1}${RS}`, DETAILED)).toBe(`${UNEXPECTED} InvalidDataException: Missing required property 'protocol'.`);
      expect(await handshakeError(`{"protocol":"json"}${RS}`, DETAILED)).toBe(`${UNEXPECTED} InvalidDataException: Missing required property 'version'.`);
      // Errors that have their own text carry no detail.
      expect(await handshakeError(`{"protocol":"foo","version":1}${RS}`, DETAILED)).toBe("The protocol 'foo' is not supported.");
    });

    it('processes nothing sent after a failed handshake in the same frame', async () => {
      const error = await handshakeError(`{"protocol":"foo","version":1}${RS}{"type":1,"invocationId":"1","target":"Echo","arguments":["x"]}${RS}`);
      expect(error).toBe("The protocol 'foo' is not supported.");
    });

    it('cancels a handshake that does not arrive within handshakeTimeout', async () => {
      expect(await handshakeError('', DETAILED)).toBe('Handshake was canceled.');
    });

    it('cancels a handshake longer than maximumReceiveMessageSize without a separator', async () => {
      expect(await handshakeError(`{"protocol":"json","version":1,"pad":"${'x'.repeat(40_000)}`)).toBe('Handshake was canceled.');
    });

    it("rejects the official client's start() with the server's handshake error", async () => {
      const client = new HubConnectionBuilder()
        .withUrl(app.url(PLAIN), { transport: HttpTransportType.WebSockets })
        .withHubProtocol(new FooProtocol())
        .configureLogging(LogLevel.None)
        .build();
      try {
        await expect(client.start()).rejects.toThrow(new Error("Server returned handshake error: The protocol 'foo' is not supported."));
      } finally {
        await client.stop();
      }
    });
  });

  describe('success', () => {
    it('answers exactly 7b 7d 1e as the first frame', async () => {
      const socket = await open();
      socket.sendText(HANDSHAKE);
      const first = await socket.nextFrame();
      expect(first.binary).toBe(false);
      expect([...first.data]).toEqual([0x7b, 0x7d, 0x1e]);
      expect(socket.frames[0]).toBe(first);
    });

    it('sends nothing before the handshake response, not even keep-alive pings', async () => {
      const socket = await open(DETAILED);
      // Nothing is expected, so there is no event to await: wait a few keep-alive intervals (40 ms).
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(socket.frames).toHaveLength(0);
      socket.sendText(HANDSHAKE);
      const first = (await socket.nextFrame()).data.toString('utf8');
      expect(first.startsWith(`{}${RS}`)).toBe(true);
      // Pings are running on this hub: they follow the handshake response, never precede it.
      const after = await textUntil(socket, (records) => records.some((record) => record.type === 6));
      const [response, ...pings] = parseRecords(first + after);
      expect(response).toEqual({});
      expect(pings.length).toBeGreaterThan(0);
      expect(pings).toEqual(pings.map(() => ({ type: 6 })));
    });

    it('processes messages sent in the same frame as the handshake', async () => {
      const socket = await open();
      socket.sendText(
        HANDSHAKE +
          `{"type":1,"invocationId":"1","target":"Echo","arguments":["same frame"]}${RS}` +
          `{"arguments":["second"],"target":"Echo","invocationId":"2","type":1}${RS}`,
      );
      const text = await textUntil(socket, (records) => records.filter((record) => record.type === 3).length === 2);
      expect(text.startsWith(`{}${RS}`)).toBe(true);
      expect(parseRecords(text).filter((record) => record.type !== 6)).toEqual([
        {},
        { type: 3, invocationId: '1', result: 'same frame' },
        { type: 3, invocationId: '2', result: 'second' },
      ]);
    });

    it('accepts a handshake split across frames', async () => {
      const socket = await open();
      socket.sendText('{"protocol":"js');
      socket.sendText(`on","version":1}${RS}{"type":1,"invocationId":"1","tar`);
      expect((await socket.nextFrame()).data.toString('utf8')).toBe(`{}${RS}`);
      socket.sendText(`get":"Echo","arguments":[1]}${RS}`);
      expect(await socket.nextMessage()).toEqual({ type: 3, invocationId: '1', result: 1 });
    });

    it('accepts version 2 and ignores extra handshake properties', async () => {
      for (const handshake of [`{"protocol":"json","version":2}${RS}`, `{"version":1,"minorVersion":0,"protocol":"json"}${RS}`]) {
        const socket = await open();
        socket.sendText(handshake);
        expect((await socket.nextFrame()).data.toString('utf8')).toBe(`{}${RS}`);
        socket.send({ type: 1, invocationId: '7', target: 'Echo', arguments: ['v'] });
        expect(await socket.nextMessage()).toEqual({ type: 3, invocationId: '7', result: 'v' });
      }
    });

    it('completes the official client handshake', async () => {
      const client = await connect(app.url(PLAIN));
      await expect(client.invoke('Echo', 'ok')).resolves.toBe('ok');
    });
  });
});
