import { Logger } from '@nestjs/common';
import type { SerializedMessage } from '../protocol/serialized-message.js';
import { type HubMessage, MessageType } from '../protocol/hub-messages.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';
import { logEvent } from '../logging/log-event.js';
import { LogTexts } from '../signalr.messages.js';

const logger = new Logger('SignalR:HubLifetimeManager');
const DONE = Promise.resolve();

/**
 * A message encoded at most once per hub protocol, lazily, then reused for every recipient
 * (ASP.NET Core's SerializedHubMessage). Most sends use one protocol, so the first is kept inline.
 *
 * Arguments a protocol cannot write (BigInt, a cycle, too deep, a throwing toJSON) give null for that
 * protocol, so its recipients are skipped, the recipients of other protocols still get the message,
 * and the send's promise rejects with the encoder's error (`sendOutcome`): one try/catch per protocol
 * per send, none per recipient.
 *
 * @example
 * const message = new SerializedHubMessage({ type: MessageType.Invocation, target: 'message', arguments: ['ada', 'hi'] });
 * for (const connection of recipients) connection.writeSerialized(message);
 */
export class SerializedHubMessage implements SerializedMessage {
  private firstProtocol: HubProtocol | null = null;
  private firstBytes: Buffer | null = null;
  private others: Map<HubProtocol, Buffer | null> | null = null;
  /** Whether a protocol could not encode the message; `failure` is the first encoder error. */
  failed = false;
  failure: unknown = undefined;

  constructor(readonly message: HubMessage) {}

  bytesFor(protocol: HubProtocol): Buffer | null {
    if (protocol === this.firstProtocol) return this.firstBytes;
    if (this.firstProtocol === null) {
      this.firstProtocol = protocol;
      return (this.firstBytes = this.encode(protocol));
    }
    let bytes = (this.others ??= new Map<HubProtocol, Buffer | null>()).get(protocol);
    if (bytes === undefined) {
      bytes = this.encode(protocol);
      this.others.set(protocol, bytes);
    }
    return bytes;
  }

  private encode(protocol: HubProtocol): Buffer | null {
    try {
      return protocol.writeMessage(this.message);
    } catch (error) {
      if (!this.failed) {
        this.failed = true;
        this.failure = error;
        const method = 'target' in this.message ? this.message.target : '';
        logger.warn(logEvent('ArgumentsNotSerialized', LogTexts.argumentsNotSerialized(method, protocol.name, error), { method }));
      }
      return null;
    }
  }
}

/** What a send's caller awaits: resolved, or rejected with the encoder's error when a protocol could not write it. */
export function sendOutcome(message: SerializedHubMessage): Promise<void> {
  return message.failed ? Promise.reject(message.failure) : DONE;
}

/** A client invocation without id (a send), serialized at most once per protocol. */
export function invocation(method: string, args: unknown[]): SerializedHubMessage {
  return new SerializedHubMessage({ type: MessageType.Invocation, target: method, arguments: args });
}
