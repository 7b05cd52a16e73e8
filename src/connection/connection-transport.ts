/** Names the transports have on the wire (negotiate's `availableTransports`). */
export type TransportName = 'WebSockets' | 'ServerSentEvents' | 'LongPolling';

/**
 * What a connection needs from its transport. Transports push incoming bytes into the connection
 * handler and report their end; they know nothing of hubs.
 */
export interface ConnectionTransport {
  readonly name: TransportName;
  /** Whether binary hub protocols can travel here (Server-Sent Events is text only). */
  readonly supportsBinary: boolean;
  /** Sends one transport message holding one or more complete records. */
  send(data: Buffer, binary: boolean): void;
  /** Bytes handed to the transport and not yet written to the network. */
  readonly bufferedAmount: number;
  /**
   * Ends the transport once what was sent so far is out. A WebSocket whose peer does not answer the
   * close frame within `closeTimeout` ms (default WEBSOCKET_CLOSE_TIMEOUT) is cut off.
   */
  close(closeTimeout?: number): void;
  /** Stops reading from the peer until `resume()` (inbound backpressure). */
  pause(): void;
  resume(): void;
  /**
   * HTTP transports (the client sends by POST): null while the connection reads; otherwise resolves
   * once it reads again or the transport ended. The POST being read awaits it between chunks.
   */
  readable?(): Promise<void> | null;
  /**
   * Asks for one `drained` event once what the transport holds went out (a socket's 'drain', the
   * next poll). Outbound backpressure: a connection over its send limit waits for it.
   */
  watchDrain?(): void;
  /** Called on the shared keep-alive tick, for transports with timers of their own (long polling). */
  tick?(now: number): void;
  /** True while a closed connection still holds bytes its client has yet to collect (long polling). */
  readonly lingering?: boolean;
}

/** What a transport needs of the connection it carries: whether it is still the current one, and its timeouts. */
export interface TransportOwner {
  transport: ConnectionTransport | null;
  readonly options: { readonly pollTimeout: number; readonly disconnectTimeout: number };
}

/**
 * Where a transport reports what arrives and its end: the hub connection loop, or any other
 * connection handler. `binary` tells a WebSocket's binary frames from text ones (HTTP bodies: false).
 */
export interface TransportEvents<T extends TransportOwner> {
  receive(owner: T, data: Buffer, binary: boolean): void;
  /** The transport ended on its own; `transport` names which one, so a replaced transport's end is ignored. */
  transportClosed(owner: T, error?: Error, transport?: ConnectionTransport): void;
  /** What the transport held went out, after `watchDrain()`. */
  drained?(owner: T): void;
}
