import type { HubProtocol } from './hub-protocol.js';

/**
 * Bytes prepared once for every recipient of a send, per hub protocol; null when that protocol could
 * not encode it (`SerializedHubMessage` is the usual one).
 *
 * @example
 * connection.writeSerialized(new SerializedHubMessage({ type: MessageType.Invocation, target: 'tick', arguments: [1] }));
 */
export interface SerializedMessage {
  bytesFor(protocol: HubProtocol): Buffer | null;
}
