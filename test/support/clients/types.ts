/** Transports and hub protocols of the client matrix, with their names on the wire. */
export type MatrixTransport = 'WebSockets' | 'ServerSentEvents' | 'LongPolling';
export type MatrixProtocol = 'json' | 'messagepack';

/** `HttpTransportType` flags; the same values in every release since @aspnet/signalr 1.0. */
export const TRANSPORT_FLAGS: Record<MatrixTransport, number> = { WebSockets: 1, ServerSentEvents: 2, LongPolling: 4 };

/** The part of `HubConnection` the matrix uses; every release from 1.1 to 11.x has it with this shape. */
export interface MatrixConnection {
  start(): Promise<void>;
  stop(): Promise<void>;
  invoke<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
  send(method: string, ...args: unknown[]): Promise<void>;
  on(method: string, handler: (...args: any[]) => void): void;
  off(method: string, handler: (...args: any[]) => void): void;
  onclose(callback: (error?: Error) => void): void;
}

/** A connection as the matrix opens it: the client, its onclose outcome and what it logged. */
export interface MatrixClient {
  connection: MatrixConnection;
  /** Resolves with the error onclose reported (undefined for a clean close). */
  closed: Promise<Error | undefined>;
  /** Warnings and errors the client logged, "Level: message", for failure messages. */
  log: string[];
}

/** One installed client release and what it can be asked to use. */
export interface ClientRelease {
  /** Package and exact installed version, e.g. "@microsoft/signalr 8.0.29". */
  label: string;
  /** The MessagePack package and the client it runs on, e.g. "@microsoft/signalr-protocol-msgpack 8.0.29 on 8.0.29". */
  msgpackLabel?: string;
  transports: readonly MatrixTransport[];
  protocols: readonly MatrixProtocol[];
  build(url: string, transport: MatrixTransport, protocol: MatrixProtocol): MatrixClient;
}
