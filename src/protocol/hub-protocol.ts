import type { HubMessage } from './hub-messages.js';

/**
 * Transfer format of a hub protocol: JSON travels as text frames, MessagePack as binary frames.
 *
 * @example
 * const binary = protocol.transferFormat === 'Binary';
 */
export type TransferFormat = 'Text' | 'Binary';

/**
 * Where one record sits inside a buffer: the payload is `[start, end)`, the next record starts at `next`.
 *
 * @example
 * for (let at = protocol.findRecord(data, 0); at !== null; at = protocol.findRecord(data, at.next)) protocol.parseRecord(data, at.start, at.end);
 */
export interface RecordBounds {
  start: number;
  end: number;
  next: number;
}

/**
 * A hub protocol: pure framing and encoding, no I/O. The connection layer owns buffering and size
 * limits; a protocol only says where records end and what they contain (ASP.NET Core's `IHubProtocol`).
 * A backplane is given the server's protocols by name, to encode each send once per protocol.
 *
 * @example
 * const bytes = protocols.get('json')!.writeMessage({ type: MessageType.Ping });
 */
export interface HubProtocol {
  /** Name the client sends in its handshake (`json`, `messagepack`). */
  readonly name: string;
  /** Highest handshake version accepted. */
  readonly version: number;
  /** How its records travel (text or binary frames). */
  readonly transferFormat: TransferFormat;
  /** Finds the next complete record at or after `offset`, or null when the rest is incomplete. */
  findRecord(buffer: Buffer, offset: number): RecordBounds | null;
  /** Decodes one record; null for a message type this server does not know (skipped, as in .NET). */
  parseRecord(buffer: Buffer, start: number, end: number): HubMessage | null;
  /** Encodes one message, framing included. */
  writeMessage(message: HubMessage): Buffer;
}
