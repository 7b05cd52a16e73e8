import type { IncomingMessage } from 'http';
import type { Duplex } from 'stream';
import { WebSocket, type WebSocketServer } from 'ws';
import type { ConnectionTransport, TransportEvents } from '../connection/connection-transport.js';
import type { HubConnection } from '../connection/hub-connection.js';
import { OwedCredit } from '../connection/owed-credit.js';
import { RemoteTransport } from '../connection/remote-transport.js';
import type { AttachAnswer, BridgeEvents, BridgeHost, BridgeLink, ConnectionBridge } from '../interfaces/connection-bridge.interface.js';
import { WEBSOCKET_CLOSE_TIMEOUT } from '../signalr.constants.js';
import { HttpTexts } from '../signalr.messages.js';
import { ownerOfText, ownerText, type ConnectionOwner } from './connection-owners.js';
import { rejectUpgrade } from './http-responses.js';

/**
 * Stateful re-attach across instances (issue 18), both ends of the bridge (ConnectionBridge):
 * - the socket side (`bridgeUpgrade`): a verified stateful token whose connection is not here; the
 *   owner is asked first, so its refusal is the upgrade's status (403 as locally, 404 when nobody
 *   holds the connection: the official client then falls back as after a local 404), and only an
 *   accepted re-attach is upgraded;
 * - the owner (`attachHost`): the connection loop re-attaches a RemoteTransport as it would a local
 *   socket, so MessageReplay resends what the client has not acknowledged, and nothing is lost or
 *   duplicated.
 */

/** What the owner's endpoint lends its host: the user check and the connection loop. */
export interface AttachOwner {
  admits(connection: HubConnection, owner: ConnectionOwner): boolean;
  draining(): boolean;
  readonly events: TransportEvents<HubConnection> & { reattach(connection: HubConnection, transport: ConnectionTransport): void };
}

/** The owner's host for one stateful connection: a re-attach elsewhere takes it as a local one would. */
export function attachHost(connection: HubConnection, endpoint: AttachOwner): BridgeHost {
  return {
    attach(owner: string, link: BridgeLink): AttachAnswer {
      if (connection.state === 'closed' || endpoint.draining()) return 404;
      // Not stateful after all (a version 1 handshake), or not through its handshake yet: taken, as locally.
      if (connection.replay === null) return 409;
      if (!endpoint.admits(connection, ownerOfText(owner))) return 403;
      const transport = new RemoteTransport(connection, endpoint.events, link);
      endpoint.events.reattach(connection, transport);
      return transport;
    },
  };
}

/**
 * Socket side: asks the owner of `connectionId` to take this upgrade for `owner`, then upgrades and
 * carries the socket's frames both ways until either end closes.
 */
export async function bridgeUpgrade(
  bridge: ConnectionBridge,
  wss: WebSocketServer,
  connectionId: string,
  owner: ConnectionOwner,
  upgrade: { req: IncomingMessage; socket: Duplex; head: Buffer },
  draining: () => boolean,
): Promise<void> {
  const bridged = new BridgedSocket();
  const answer = await bridge.attach(connectionId, ownerText(owner), bridged);
  const { req, socket, head } = upgrade;
  if (answer === 404) return rejectUpgrade(socket, 404, HttpTexts.connectionNotFound);
  if (typeof answer === 'number') return rejectUpgrade(socket, answer);
  // Shutdown began while the owner answered: the client re-attaches elsewhere, as after a local 503.
  if (draining()) {
    answer.close(1006);
    return rejectUpgrade(socket, 503, HttpTexts.shuttingDown);
  }
  // The client gave up while the owner answered: the owner hears the socket broke off.
  if (socket.destroyed) return answer.close(1006);
  const abandoned = () => answer.close(1006);
  socket.once('close', abandoned);
  wss.handleUpgrade(req, socket, head, (ws) => {
    socket.removeListener('close', abandoned);
    bridged.open(ws, answer);
  });
}

/**
 * The socket side of a bridge: the client's frames go to the owner, at most a window unanswered
 * (then the socket is not read until the owner credits some back); the owner's frames are written
 * to the socket, and credited back once the socket took them, so a client that stops reading stops
 * the owner after a window, and this instance never holds more than that.
 */
class BridgedSocket implements BridgeEvents {
  private ws: WebSocket | null = null;
  private link: BridgeLink | null = null;
  /** The owner's frames that came before the upgrade completed (its Sequence and replay): at most a window. */
  private early: Array<{ data: Buffer; binary: boolean }> | null = [];
  private inFlight = 0;
  /** The owner's bytes the socket took, credited back. */
  private readonly owed = new OwedCredit(
    (bytes) => this.link!.credit(bytes),
    () => this.ended,
  );
  private ended = false;
  private closeTimer: NodeJS.Timeout | null = null;

  open(ws: WebSocket, link: BridgeLink): void {
    this.ws = ws;
    this.link = link;
    ws.on('message', (data: Buffer, binary: boolean) => this.received(data, binary));
    ws.on('close', (code: number) => this.socketClosed(code));
    ws.on('error', () => undefined);
    const early = this.early!;
    this.early = null;
    if (this.ended) return this.ws.terminate();
    for (const { data, binary } of early) this.frame(data, binary);
  }

  frame(data: Buffer, binary: boolean): void {
    if (this.early !== null) return void this.early.push({ data, binary });
    const ws = this.ws!;
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(data, { binary }, () => this.owed.took(data.length));
  }

  credit(bytes: number): void {
    this.inFlight = Math.max(0, this.inFlight - bytes);
    // Only this class pauses the socket: paused, it waits for these credits.
    if (this.ws?.isPaused && this.inFlight < this.link!.window) this.ws.resume();
  }

  /** The owner closed the connection (its close code), or went silent (1006: the client is cut off and may re-attach again). */
  closed(code: number): void {
    if (this.ended) return;
    this.ended = true;
    const ws = this.ws;
    if (ws === null) return;
    if (code === 1006) return ws.terminate();
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.close(code);
    this.closeTimer = setTimeout(() => ws.terminate(), WEBSOCKET_CLOSE_TIMEOUT).unref();
  }

  private received(data: Buffer, binary: boolean): void {
    if (this.ended) return;
    this.inFlight += data.length;
    this.link!.frame(data, binary);
    if (!this.ws!.isPaused && this.inFlight >= this.link!.window) this.ws!.pause();
  }

  private socketClosed(code: number): void {
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    if (this.ended) return;
    this.ended = true;
    this.link!.close(code);
  }
}
