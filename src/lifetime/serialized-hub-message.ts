import type { SerializedMessage } from '../connection/hub-connection.js';
import type { HubMessage } from '../protocol/hub-messages.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';

/**
 * A message encoded at most once per hub protocol, lazily, then reused for every recipient
 * (ASP.NET Core's SerializedHubMessage). Most sends use one protocol, so the first is kept inline.
 */
export class SerializedHubMessage implements SerializedMessage {
  private firstProtocol: HubProtocol | null = null;
  private firstBytes: Buffer | null = null;
  private others: Map<HubProtocol, Buffer> | null = null;

  constructor(readonly message: HubMessage) {}

  bytesFor(protocol: HubProtocol): Buffer {
    if (protocol === this.firstProtocol) return this.firstBytes!;
    if (this.firstProtocol === null) {
      this.firstProtocol = protocol;
      return (this.firstBytes = protocol.writeMessage(this.message));
    }
    let bytes = (this.others ??= new Map()).get(protocol);
    if (bytes === undefined) {
      bytes = protocol.writeMessage(this.message);
      this.others.set(protocol, bytes);
    }
    return bytes;
  }
}
