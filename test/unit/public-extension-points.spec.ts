import { HubConnection } from '../../src/connection/hub-connection.js';
import {
  CompletionMessage,
  HubBackplane,
  HubConnectionContext,
  HubLifetimeManager,
  HubProtocol,
  HubTarget,
  MessageType,
  SerializedHubMessage,
} from '../../src/index.js';
import { writeHandshakeResponse } from '../../src/protocol/handshake-protocol.js';
import { JsonHubProtocol } from '../../src/protocol/json-hub-protocol.js';
import { DEFAULT_HUB_OPTIONS } from '../../src/signalr.constants.js';
import { InMemoryPeer } from '../../src/testing/in-memory-transport.js';

/**
 * A third-party lifetime manager written against the package's public types only (everything
 * above comes from `src/index.ts`): it must type-check, and it works with the server's connections.
 */
class ListLifetimeManager extends HubLifetimeManager {
  readonly connections: HubConnectionContext[] = [];
  readonly completions: CompletionMessage[] = [];

  constructor(readonly protocols: ReadonlyMap<string, HubProtocol>) {
    super();
  }

  onConnected(connection: HubConnectionContext): void {
    this.connections.push(connection);
  }

  onDisconnected(connection: HubConnectionContext): void {
    this.connections.splice(this.connections.indexOf(connection), 1);
  }

  send(target: HubTarget, method: string, args: unknown[]): Promise<void> {
    const message = new SerializedHubMessage({ type: MessageType.Invocation, target: method, arguments: args });
    const except = target.kind === 'all' ? (target.except ?? []) : [];
    for (const connection of this.connections) {
      if (target.kind === 'all' ? !except.includes(connection.connectionId) : target.kind === 'connection' && target.id === connection.connectionId) {
        connection.writeSerialized(message);
      }
    }
    return Promise.resolve();
  }

  override tryCompleteClientResult(_connection: HubConnectionContext, message: CompletionMessage): boolean {
    this.completions.push(message);
    return true;
  }

  addToGroup(): Promise<void> {
    return Promise.reject(new Error('no groups here'));
  }

  removeFromGroup(): Promise<void> {
    return Promise.reject(new Error('no groups here'));
  }
}

const backplane: HubBackplane = {
  createLifetimeManager: (_hub, protocols) => new ListLifetimeManager(protocols),
  close: () => Promise.resolve(),
};

describe('extension points typed by the public API', () => {
  it('lets a backplane written against the exported types serve the server connections', async () => {
    const protocol = new JsonHubProtocol();
    const manager = backplane.createLifetimeManager(class SomeHub {}, new Map([['json', protocol]])) as ListLifetimeManager;
    const ends = ['a', 'b'].map((id) => {
      const peer = new InMemoryPeer(protocol);
      const connection = new HubConnection(id, `token-${id}`, '/hub', { ...DEFAULT_HUB_OPTIONS });
      Object.assign(connection, { transport: peer.transport, protocol, state: 'connected' });
      peer.transport.send(writeHandshakeResponse());
      manager.onConnected(connection);
      return { connection, peer };
    });
    await manager.send({ kind: 'all', except: ['b'] }, 'hello', [1]);
    await manager.send({ kind: 'connection', id: 'b' }, 'direct', [2]);
    for (const { connection } of ends) connection.flush();
    expect(ends.map(({ peer }) => peer.received)).toEqual([
      [{ type: MessageType.Invocation, target: 'hello', arguments: [1] }],
      [{ type: MessageType.Invocation, target: 'direct', arguments: [2] }],
    ]);
    expect(manager.tryCompleteClientResult(ends[0].connection, { type: MessageType.Completion, invocationId: 's1', result: 3 })).toBe(true);
    expect(manager.completions).toEqual([{ type: MessageType.Completion, invocationId: 's1', result: 3 }]);
    manager.onDisconnected(ends[0].connection);
    expect(manager.connections.map((connection) => connection.connectionId)).toEqual(['b']);
    await backplane.close();
  });
});
