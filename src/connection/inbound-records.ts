import { findHandshakeRecord } from '../protocol/handshake-protocol.js';
import type { HubMessage } from '../protocol/hub-messages.js';
import { InvalidDataError } from '../protocol/protocol-errors.js';
import { CloseTexts, HandshakeTexts } from '../signalr.messages.js';
import type { HubConnection } from './hub-connection.js';
import { connectionTelemetry } from '../observability/connection-telemetry.js';

/** Where the records read from a connection's bytes go: the connection loop. */
export interface RecordSink {
  /** The handshake request's record; true when the handshake succeeded and hub messages follow. */
  handshake(connection: HubConnection, buffer: Buffer, start: number, end: number): boolean;
  failHandshake(connection: HubConnection, error: string): void;
  message(connection: HubConnection, message: HubMessage): void;
}

/**
 * Bytes POSTed before the transport started (HTTP transports), kept until it starts. Throws
 * InvalidDataError (the POST's 413) beyond maximumReceiveMessageSize.
 */
export function keepEarlyBytes(connection: HubConnection, data: Buffer): void {
  const limit = connection.options.maximumReceiveMessageSize;
  const pending = connection.receiveBuffer === null ? data : Buffer.concat([connection.receiveBuffer, data]);
  if (limit !== null && pending.length > limit) throw new InvalidDataError(CloseTexts.messageTooLarge(limit));
  connection.receiveBuffer = pending;
}

/**
 * Splits what arrived (after the unparsed tail of earlier reads) into records: the handshake
 * request while handshaking, then hub messages, each handed to `sink`; an unfinished record stays
 * for the next read. Returns false when reading stopped at the handshake (incomplete or failed).
 * Throws InvalidDataError for a record beyond maximumReceiveMessageSize, and whatever the
 * protocol's parser throws for bytes that are not a message.
 */
export function readRecords(connection: HubConnection, data: Buffer, sink: RecordSink): boolean {
  const buffer = connection.receiveBuffer === null ? data : Buffer.concat([connection.receiveBuffer, data]);
  connection.receiveBuffer = null;
  const limit = connection.options.maximumReceiveMessageSize;
  let offset = 0;
  // A record counts from where it starts (`offset`, before a binary length prefix) to `bounds.next`
  // (after a text separator), as ASP.NET Core requires the whole record to fit in the first `limit`
  // buffered bytes.
  if (connection.state === 'handshaking') {
    const bounds = findHandshakeRecord(buffer);
    if (bounds === null || (limit !== null && bounds.next - bounds.start > limit)) {
      if (bounds !== null || (limit !== null && buffer.length > limit)) sink.failHandshake(connection, HandshakeTexts.canceled);
      else connection.receiveBuffer = buffer;
      return false;
    }
    offset = bounds.next;
    if (!sink.handshake(connection, buffer, bounds.start, bounds.end)) return false;
  }
  const protocol = connection.protocol!;
  for (;;) {
    const bounds = protocol.findRecord(buffer, offset);
    if (bounds === null) break;
    if (limit !== null && bounds.next - offset > limit) throw new InvalidDataError(CloseTexts.messageTooLarge(limit));
    connectionTelemetry.received(protocol, bounds.next - offset);
    offset = bounds.next;
    const message = protocol.parseRecord(buffer, bounds.start, bounds.end);
    if (message !== null) sink.message(connection, message);
  }
  if (offset < buffer.length) {
    if (limit !== null && buffer.length - offset > limit) throw new InvalidDataError(CloseTexts.messageTooLarge(limit));
    // Copy so a large frame is not kept alive by a small unfinished tail.
    connection.receiveBuffer = Buffer.from(buffer.subarray(offset));
  }
  return true;
}
