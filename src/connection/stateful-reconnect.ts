import { HubMessage, MessageType } from '../protocol/hub-messages.js';
import { CloseTexts } from '../signalr.messages.js';
import type { HubConnection } from './hub-connection.js';
import type { MessageReplay } from './message-replay.js';

/**
 * The connection loop's stateful reconnect duties on the shared tick: an Ack for what arrived since
 * the last one (so at most one a second, as ASP.NET Core), and the end of a detached connection
 * whose client did not re-attach within the disconnect timeout. True while the connection is
 * detached (nothing else on the tick applies to it then).
 */
export function sweepStateful(connection: HubConnection, replay: MessageReplay, now: number, end: (connection: HubConnection) => void): boolean {
  if (connection.detachedAt !== 0) {
    if (now - connection.detachedAt >= connection.options.disconnectTimeout) end(connection);
    return true;
  }
  const sequenceId = replay.takeAck();
  if (sequenceId !== 0) connection.write({ type: MessageType.Ack, sequenceId });
  return false;
}

/**
 * The receiving side, on arrival: duplicates the client replays and anything before its Sequence
 * are dropped; Ack and Sequence are handled here. True when the message goes on to dispatch.
 */
export function acceptStateful(
  connection: HubConnection,
  replay: MessageReplay,
  message: HubMessage,
  fail: (connection: HubConnection, error: Error) => void,
): boolean {
  if (!replay.accepts(message.type)) return false;
  if (message.type === MessageType.Ack) {
    connection.acknowledge(message.sequenceId);
    return false;
  }
  if (message.type === MessageType.Sequence) {
    if (!replay.resetSequence(message.sequenceId)) {
      const error = new Error(CloseTexts.sequenceTooLarge);
      error.name = 'InvalidOperationException';
      fail(connection, error);
    }
    return false;
  }
  return true;
}
