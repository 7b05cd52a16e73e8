/** Names the transports have on the wire (negotiate's `availableTransports`). */
export type TransportName = 'WebSockets' | 'ServerSentEvents' | 'LongPolling';

/**
 * What a connection needs from its transport. Transports push incoming bytes into the connection
 * handler and report their end; they know nothing of hubs.
 */
export interface ConnectionTransport {
  readonly name: TransportName;
  /** Sends one transport message holding one or more complete records. */
  send(data: Buffer, binary: boolean): void;
  /** Bytes handed to the transport and not yet written to the network. */
  readonly bufferedAmount: number;
  /** Ends the transport once what was sent so far is out. */
  close(): void;
  /** Stops reading from the peer until `resume()` (inbound backpressure). */
  pause(): void;
  resume(): void;
}
