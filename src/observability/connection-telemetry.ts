import type { Attributes as OtelAttributes, Counter, Histogram, ObservableResult, UpDownCounter } from '@opentelemetry/api';
import { telemetry, type TelemetryPart, type TelemetryState } from './telemetry-state.js';
import { Attributes, ConnectionInstruments, type ConnectionStatus, LONG_SECONDS_BUCKETS, SignalRInstruments, TRANSPORT_VALUES } from './telemetry-names.js';

/** What connection telemetry reads of a connection (hub or raw, as ASP.NET Core counts both), whatever layer it lives in. */
export interface ObservedConnection {
  readonly transport: { readonly name: string } | null;
  /** When its transport started (ms since the epoch, as Date.now()). */
  readonly createdAt: number;
}

const STATUSES: readonly ConnectionStatus[] = ['normal_closure', 'timeout', 'app_shutdown'];

const TRAFFIC = Symbol('signalr.traffic');

/** A hub protocol instance, which carries its message counts once it has sent or received one. */
interface CountedProtocol {
  readonly name: string;
  [TRAFFIC]?: ProtocolTraffic;
}

/** Messages and bytes of one protocol, both ways: plain numbers on the hot path, read at collection. */
class ProtocolTraffic {
  messagesReceived = 0;
  bytesReceived = 0;
  messagesSent = 0;
  bytesSent = 0;
  readonly attributes: OtelAttributes;

  constructor(name: string) {
    this.attributes = { [Attributes.protocol]: name };
  }
}

/**
 * ASP.NET Core's connection instruments (`signalr.server.active_connections`, `.connection.duration`,
 * with its attributes and buckets) and ours about connections: messages and bytes by protocol, and
 * slow consumers closed. Attribute objects are made once per transport, status and protocol;
 * message counts are plain counters the SDK reads when it collects, so a message costs two additions.
 */
export class ConnectionTelemetry implements TelemetryPart {
  private active: UpDownCounter | null = null;
  private duration: Histogram | null = null;
  private slowConsumers: Counter | null = null;
  private readonly activeAttributes = new Map<string, OtelAttributes>();
  private readonly durationAttributes = new Map<string, OtelAttributes>();
  /** How a connection ended, when not normally (rare: marked only on timeouts). */
  private readonly statuses = new WeakMap<object, ConnectionStatus>();
  /** Connection loops whose app is shutting down: their connections end with `app_shutdown`. */
  private readonly shuttingDown = new WeakSet<object>();
  /** Connections counted as active: each ends once, whichever of its end paths reports it. */
  private readonly running = new WeakSet<object>();
  private readonly traffic = new Map<string, ProtocolTraffic>();

  constructor() {
    for (const [name, value] of Object.entries(TRANSPORT_VALUES)) {
      this.activeAttributes.set(name, { [Attributes.transport]: value });
      for (const status of STATUSES) this.durationAttributes.set(`${name} ${status}`, { [Attributes.connectionStatus]: status, [Attributes.transport]: value });
    }
  }

  bind(state: TelemetryState): void {
    const connections = state.connectionsMeter!;
    this.active = connections.createUpDownCounter(ConnectionInstruments.activeConnections, {
      unit: '{connection}',
      description: 'Number of connections that are currently active on the server.',
    });
    this.duration = connections.createHistogram(ConnectionInstruments.connectionDuration, {
      unit: 's',
      description: 'The duration of connections on the server.',
      advice: { explicitBucketBoundaries: LONG_SECONDS_BUCKETS },
    });
    const meter = state.meter!;
    this.slowConsumers = meter.createCounter(SignalRInstruments.slowConsumerCloses, {
      unit: '{connection}',
      description: 'Connections closed because they did not read what was sent to them (maximumSendBufferSize).',
    });
    const observe = (name: string, unit: string, description: string, read: (traffic: ProtocolTraffic) => number) =>
      meter.createObservableCounter(name, { unit, description }).addCallback((result: ObservableResult) => {
        for (const traffic of this.traffic.values()) result.observe(read(traffic), traffic.attributes);
      });
    observe(SignalRInstruments.messagesReceived, '{message}', 'Hub protocol messages received, by protocol.', (t) => t.messagesReceived);
    observe(SignalRInstruments.bytesReceived, 'By', 'Bytes of hub protocol messages received, by protocol.', (t) => t.bytesReceived);
    observe(SignalRInstruments.messagesSent, '{message}', 'Hub protocol messages sent, by protocol.', (t) => t.messagesSent);
    observe(SignalRInstruments.bytesSent, 'By', 'Bytes of hub protocol messages sent, by protocol.', (t) => t.bytesSent);
  }

  /** The transport started: the connection is active. */
  started(connection: ObservedConnection): void {
    if (!telemetry.metricsOn) return;
    const attributes = this.activeAttributes.get(connection.transport?.name ?? '');
    if (attributes === undefined) return;
    this.running.add(connection);
    this.active!.add(1, attributes);
  }

  /** The connection ended: no longer active, and its duration with how it ended (only the first report counts). */
  ended(connection: ObservedConnection, loop: object): void {
    if (!telemetry.metricsOn || !this.running.delete(connection)) return;
    const name = connection.transport?.name ?? '';
    const attributes = this.activeAttributes.get(name)!;
    this.active!.add(-1, attributes);
    const status = this.shuttingDown.has(loop) ? 'app_shutdown' : (this.statuses.get(connection) ?? 'normal_closure');
    this.duration!.record(Math.max(0, Date.now() - connection.createdAt) / 1000, this.durationAttributes.get(`${name} ${status}`));
  }

  /** The client went silent: the client timeout passed, or a long-polling client stopped polling. */
  timedOut(connection: object): void {
    if (telemetry.metricsOn) this.statuses.set(connection, 'timeout');
  }

  /** The app is shutting down: every connection `loop` still has ends with `app_shutdown`. */
  shutdownBegan(loop: object): void {
    this.shuttingDown.add(loop);
  }

  /** A connection closed for not reading what was sent to it. */
  slowConsumerClosed(): void {
    if (telemetry.metricsOn) this.slowConsumers!.add(1);
  }

  /** One message of `bytes` parsed from a client. */
  received(protocol: CountedProtocol, bytes: number): void {
    if (!telemetry.metricsOn) return;
    const traffic = protocol[TRAFFIC] ?? this.trafficOf(protocol);
    traffic.messagesReceived++;
    traffic.bytesReceived += bytes;
  }

  /** One message of `bytes` queued for a client (per delivery of a broadcast: two additions). */
  sent(protocol: CountedProtocol | null, bytes: number): void {
    if (!telemetry.metricsOn || protocol === null) return;
    const traffic = protocol[TRAFFIC] ?? this.trafficOf(protocol);
    traffic.messagesSent++;
    traffic.bytesSent += bytes;
  }

  /** The protocol's counts, kept on the protocol instance (a property read per message, no lookup). */
  private trafficOf(protocol: CountedProtocol): ProtocolTraffic {
    let traffic = this.traffic.get(protocol.name);
    if (traffic === undefined) this.traffic.set(protocol.name, (traffic = new ProtocolTraffic(protocol.name)));
    if (Object.isExtensible(protocol)) protocol[TRAFFIC] = traffic;
    return traffic;
  }
}

/** Connection telemetry of the process. */
export const connectionTelemetry = telemetry.register(new ConnectionTelemetry());
