import { enter, HUB_CONNECTION_LIFECYCLE, RAW_CONNECTION_LIFECYCLE } from '../../src/connection/connection-lifecycle.js';
import { HubConnection } from '../../src/connection/hub-connection.js';
import type { ConnectionState } from '../../src/connection/transport-connection.js';
import { RawConnectionState } from '../../src/connection-handlers/raw-connection-state.js';
import type { ResolvedHubOptions } from '../../src/interfaces/hub-options.interface.js';
import { DEFAULT_HUB_OPTIONS } from '../../src/signalr.constants.js';

const options: ResolvedHubOptions = { ...DEFAULT_HUB_OPTIONS };
const STATES: ConnectionState[] = ['negotiated', 'handshaking', 'connecting', 'connected', 'closed'];

function hubConnectionIn(state: ConnectionState): HubConnection {
  const connection = new HubConnection('id', 'token', '/hubs/a', options);
  connection.state = state;
  return connection;
}

describe('connection lifecycle tables', () => {
  it('moves a hub connection only along the table: negotiated, handshaking, connecting, connected, closed', () => {
    const allowed: string[] = [];
    for (const from of STATES) {
      for (const to of STATES) {
        const connection = hubConnectionIn(from);
        const moved = enter(connection, HUB_CONNECTION_LIFECYCLE, to);
        expect(connection.state).toBe(moved ? to : from);
        if (moved) allowed.push(`${from}>${to}`);
      }
    }
    expect(allowed).toEqual([
      'negotiated>handshaking',
      'negotiated>closed',
      'handshaking>connecting',
      'handshaking>closed',
      'connecting>connected',
      'connecting>closed',
      'connected>closed',
    ]);
  });

  it('moves a raw connection from negotiated straight to connected, and closes it once', () => {
    const connection = new RawConnectionState('id', 'token', '/raw', options);
    expect(enter(connection, RAW_CONNECTION_LIFECYCLE, 'handshaking')).toBe(false);
    expect(enter(connection, RAW_CONNECTION_LIFECYCLE, 'connected')).toBe(true);
    const signal = connection.abortSignal;
    expect(enter(connection, RAW_CONNECTION_LIFECYCLE, 'closed')).toBe(true);
    expect(signal.aborted).toBe(true);
    expect(enter(connection, RAW_CONNECTION_LIFECYCLE, 'closed')).toBe(false);
  });

  it('ends the reader of a raw connection when it closes', async () => {
    const connection = new RawConnectionState('id', 'token', '/raw', options);
    enter(connection, RAW_CONNECTION_LIFECYCLE, 'connected');
    connection.receive('first');
    const next = [connection.next(), connection.next()];
    enter(connection, RAW_CONNECTION_LIFECYCLE, 'closed');
    await expect(Promise.all(next)).resolves.toEqual([
      { value: 'first', done: false },
      { value: undefined, done: true },
    ]);
  });

  it('gives an already aborted signal when it is first asked for after the connection closed', () => {
    const connection = hubConnectionIn('connected');
    enter(connection, HUB_CONNECTION_LIFECYCLE, 'closed');
    expect(connection.abortSignal.aborted).toBe(true);
  });
});
