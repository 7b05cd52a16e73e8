import type { ConnectionLifetime } from '../connection/connection-contracts.js';
import type { TransportName } from '../connection/connection-transport.js';
import type { HubConnection } from '../connection/hub-connection.js';

/** A hub a server serves, with its live counts. `lifetime` is its lifetime manager (groups, presence). */
export interface ServedHub {
  readonly metatype: Function;
  readonly name: string;
  readonly path: string;
  readonly counters: HubCounters;
  readonly lifetime: {
    readonly presence: { userCount?(): Promise<number>; onlineUsers(): Promise<Map<string, number>> };
  };
}

/** What statistics read of the server: the hubs it serves, and whether it accepts connections. */
export interface ServedHubs {
  readonly served: readonly ServedHub[];
  readonly serving: boolean;
}

/** Connections by transport, zero for the transports with none. */
export type TransportCounts = Record<TransportName, number>;

export function noConnections(): TransportCounts {
  return { WebSockets: 0, ServerSentEvents: 0, LongPolling: 0 };
}

/**
 * The live connection counts of one hub, kept as connections join and leave its lifetime manager
 * (from the handshake's success to the end), so reading them costs nothing however many there are.
 */
export class HubCounters {
  connections = 0;
  readonly byTransport: TransportCounts = noConnections();
  /** Which transport each counted connection was counted under (a stateful reconnect keeps WebSockets). */
  private readonly counted = new WeakMap<HubConnection, TransportName>();

  joined(connection: HubConnection): void {
    const transport = connection.transport?.name;
    if (transport === undefined || this.counted.has(connection)) return;
    this.counted.set(connection, transport);
    this.connections++;
    this.byTransport[transport]++;
  }

  left(connection: HubConnection): void {
    const transport = this.counted.get(connection);
    if (transport === undefined) return;
    this.counted.delete(connection);
    this.connections--;
    this.byTransport[transport]--;
  }

  /**
   * `lifetime` as the connection loop sees it, counting on the way: the loop calls onConnected once a
   * handshake succeeded and onDisconnected once for each of those connections.
   */
  counting(lifetime: ConnectionLifetime): ConnectionLifetime {
    const counted: ConnectionLifetime = {
      onConnected: (connection) => {
        lifetime.onConnected(connection);
        this.joined(connection);
      },
      onDisconnected: (connection) => {
        this.left(connection);
        lifetime.onDisconnected(connection);
      },
    };
    if (lifetime.tryCompleteClientResult !== undefined)
      counted.tryCompleteClientResult = (connection, message) => lifetime.tryCompleteClientResult!(connection, message);
    return counted;
  }
}
