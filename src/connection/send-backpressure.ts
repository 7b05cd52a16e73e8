import type { ConnectionTransport } from './connection-transport.js';
import type { HubConnection } from './hub-connection.js';

/**
 * Outbound backpressure. A client with more than maximumSendBufferSize bytes to read (written this
 * tick, or held by its transport) has its invocations wait until its transport drains, so a client
 * that reads is never closed for the size of its own replies. One that stays over the limit for
 * sendBufferTimeout, or falls SEND_BUFFER_CEILING times behind (hub-connection.ts), is a slow consumer.
 * With stateful reconnect, what the client has not acknowledged counts too (it is kept for replay).
 */

/** Bytes handed out that the client has yet to take: what the transport holds, or what it has not acknowledged if more. */
function outstandingBytes(connection: HubConnection, transport: ConnectionTransport): number {
  const buffered = transport.bufferedAmount;
  const replay = connection.replay;
  return replay === null || replay.keptBytes <= buffered ? buffered : replay.keptBytes;
}

/** Whether the connection's next invocation must wait for the client to read; arms the check that resumes it. */
export function sendBacklogged(connection: HubConnection): boolean {
  if (connection.sendPaused) return true;
  const transport = connection.transport;
  if (transport === null) return false;
  // Queued sequenced bytes are already among the kept ones.
  const buffered = connection.queuedBytes + transport.bufferedAmount;
  const replay = connection.replay;
  const backlog = replay === null || replay.keptBytes <= buffered ? buffered : replay.keptBytes;
  if (backlog <= connection.options.maximumSendBufferSize) return false;
  connection.sendPaused = true;
  // With bytes queued, their flush checks; otherwise the transport alone is over the limit.
  if (connection.queuedBytes === 0) sendBufferDrained(connection);
  return true;
}

/**
 * After a send that left the transport over the limit, on the transport's drain, and on the tick.
 * Over the limit: the drain is awaited and the time over it counts. Under it: true when dispatch
 * waited and may go on.
 */
export function sendBufferDrained(connection: HubConnection): boolean {
  const transport = connection.transport;
  if (connection.state === 'closed' || !connection.watchSendLimit || transport === null) return false;
  if (outstandingBytes(connection, transport) > connection.options.maximumSendBufferSize) {
    if (connection.sendFullSince === 0) connection.sendFullSince = Date.now();
    transport.watchDrain?.();
    return false;
  }
  connection.sendFullSince = 0;
  if (!connection.sendPaused) return false;
  connection.sendPaused = false;
  return true;
}

/** Whether the transport has held more than maximumSendBufferSize for longer than sendBufferTimeout (a slow consumer). */
export function sendBufferExpired(connection: HubConnection, now: number): boolean {
  const since = connection.sendFullSince;
  const options = connection.options;
  const transport = connection.transport;
  if (since === 0 || now - since < options.sendBufferTimeout || transport === null) return false;
  return outstandingBytes(connection, transport) > options.maximumSendBufferSize;
}
