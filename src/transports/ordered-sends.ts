import type { IncomingMessage, ServerResponse } from 'http';
import type { TransportConnection } from '../connection/transport-connection.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import { InvalidDataError } from '../protocol/protocol-errors.js';
import { HttpTexts } from '../signalr.messages.js';
import { sendText } from './http-responses.js';

/** What a send needs of its endpoint: the request's refusal (401/403, else 0) and the body's reader. */
export interface SendSteps<C> {
  /** Rejects with what the app's `userIdProvider` throws: the send's caller answers that 500. */
  refusal(request: HubRequest, connection: C): Promise<0 | 401 | 403>;
  /** Hands the body over as it arrives; throws InvalidDataError (413) when too large. */
  receiveBody(req: IncomingMessage, connection: C): Promise<void>;
}

/**
 * Client-to-server bytes for SSE and long polling: one POST per connection at a time, in the order
 * they arrived, as .NET applies them, so that a client's sends keep their order whatever
 * authentication or a full inbound queue costs.
 */
export class OrderedSends<C extends TransportConnection> {
  /** The tail of each connection's POST queue. */
  private readonly queues = new WeakMap<C, Promise<void>>();

  /** `steps` is the endpoint's, shared by every send: nothing is made per POST. */
  async receive(req: IncomingMessage, res: ServerResponse, connection: C, request: HubRequest, steps: SendSteps<C>): Promise<void> {
    if (connection.transport?.name === 'WebSockets') return sendText(res, 405, HttpTexts.postOnWebSocket);
    const previous = this.queues.get(connection);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.queues.set(connection, mine);
    try {
      await previous;
      if (connection.state === 'closed') return sendText(res, 404);
      // Authenticated in the queue, so that sends keep their order whatever authentication costs.
      const refusal = await steps.refusal(request, connection);
      if (refusal !== 0) return sendText(res, refusal);
      // The connection may have ended while authentication ran.
      if (!connection.isOpen) return sendText(res, 404);
      try {
        await steps.receiveBody(req, connection);
      } catch (error) {
        // A body that breaks off is 400; bytes beyond the limit (where one applies to a body) are 413.
        if (!res.headersSent) sendText(res, error instanceof InvalidDataError ? 413 : 400);
        return;
      }
      sendText(res, 200);
    } finally {
      release();
      if (this.queues.get(connection) === mine) this.queues.delete(connection);
    }
  }
}
