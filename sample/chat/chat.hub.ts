import { UseGuards, UsePipes, ValidationPipe } from '@nestjs/common';
import { Hub, HubContext, HubException, InjectHubContext, UploadStream } from '../../src/index.js';
import { Roles } from '../roles/roles.decorator.js';
import { RolesGuard } from '../roles/roles.guard.js';
import { AnnouncementDto } from './announcement.dto.js';
import { displayName } from '../auth/identity.js';
import { requireText } from '../validation.js';

/** Where a connection keeps the rooms it joined; `context.items` dies with the connection, as its groups do. */
const ROOMS = Symbol('rooms');

/**
 * The chat: messages to everyone, rooms (SignalR groups) and private messages to a user's every
 * connection. Open to anonymous users ("anonymous"); a signed-in user appears under the `sub` of their
 * token. Client events, with their arguments:
 *
 * - `message(user, text)`: to everyone, from `sendMessage`
 * - `userJoined(room, user)` / `userLeft(room, user)`: to the room's other members
 * - `roomMessage(room, user, text)`: to the room's members, the sender included
 * - `privateMessage(fromUser, text)`: to every connection of the addressed user, nobody else; a user
 *   connected to no instance is refused ("No user named X is online.")
 * - `userConnected(user)` / `userDisconnected(user)`: to everyone else on the hub, for signed-in users
 *   (anonymous visitors come and go unannounced: the page connects anonymously before logging in)
 * - `announcement(text, level, fromUser)`: to everyone, from `adminBroadcast` (admins only)
 * - `feedStarted(user)`, `feedLine(user, line)`, `feedEnded(user, lines)`: to everyone else, from a
 *   `shareFeed` upload
 *
 * Bad input throws HubException, whose message reaches the caller after the client's preamble (the
 * page shows only the message):
 * "An unexpected error occurred invoking 'SendMessage' on the server. HubException: Message must not be empty."
 */
@Hub('/hubs/chat', { allowStatefulReconnects: true })
export class ChatHub extends Hub {
  constructor(
    // Its own context, for presence: who is connected, on every instance when clustered.
    @InjectHubContext(ChatHub) private readonly chat: HubContext<ChatHub>,
  ) {
    super();
  }

  async onConnected(): Promise<void> {
    if (this.signedIn) await this.clients.others.send('userConnected', this.userName);
  }

  async onDisconnected(): Promise<void> {
    const name = this.userName;
    // Groups forget the connection by themselves; the rooms set is only there to tell their members.
    for (const room of this.rooms) await this.clients.othersInGroup(room).send('userLeft', room, name);
    if (this.signedIn) await this.clients.others.send('userDisconnected', name);
  }

  async sendMessage(message: string): Promise<void> {
    const text = requireText(message, 'Message');
    await this.clients.all.send('message', this.userName, text);
  }

  async joinRoom(room: string): Promise<void> {
    const name = requireText(room, 'Room');
    if (this.rooms.has(name)) return; // already a member: no second notice
    await this.groups.addToGroup(this.context.connectionId, name);
    this.rooms.add(name);
    await this.clients.othersInGroup(name).send('userJoined', name, this.userName);
  }

  async leaveRoom(room: string): Promise<void> {
    const name = requireMembership(this.rooms, room);
    await this.groups.removeFromGroup(this.context.connectionId, name);
    this.rooms.delete(name);
    await this.clients.group(name).send('userLeft', name, this.userName);
  }

  async sendToRoom(room: string, message: string): Promise<void> {
    const name = requireMembership(this.rooms, room);
    const text = requireText(message, 'Message');
    await this.clients.group(name).send('roomMessage', name, this.userName, text);
  }

  async sendPrivate(userId: string, message: string): Promise<void> {
    const to = requireText(userId, 'User');
    const text = requireText(message, 'Message');
    // Sent to nobody, the message would vanish while the sender's page shows it as sent.
    if ((await this.chat.presence.connectionCount(to)) === 0) throw new HubException(`No user named ${to} is online.`);
    await this.clients.user(to).send('privateMessage', this.userName, text);
  }

  /**
   * The live feed, an upload stream: the client passes a `Subject` (`invoke('ShareFeed', subject)`)
   * and every line it pushes reaches everyone else as `feedLine(user, line)`, between `feedStarted`
   * and `feedEnded(user, lines)`. Completing the subject returns the number of lines shared. The
   * upload holds no invocation slot, so the same connection keeps chatting meanwhile; a bad line
   * ends the feed with a HubException (the server then completes the upload).
   */
  async shareFeed(@UploadStream() lines: AsyncIterable<string>): Promise<number> {
    const name = this.userName;
    let count = 0;
    await this.clients.others.send('feedStarted', name);
    try {
      for await (const line of lines) {
        const text = requireText(line, 'Feed line');
        count++;
        await this.clients.others.send('feedLine', name, text);
      }
    } finally {
      await this.clients.others.send('feedEnded', name, count);
    }
    return count;
  }

  /**
   * Admins only (RolesGuard, on the token's `roles` claim), with a validated DTO: `announcement(text,
   * level, from)` to everyone. Others get "Failed to invoke 'AdminBroadcast' because user is unauthorized".
   */
  @Roles('admin')
  @UseGuards(RolesGuard)
  @UsePipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }))
  async adminBroadcast(announcement: AnnouncementDto): Promise<void> {
    await this.clients.all.send('announcement', announcement.text, announcement.level, this.userName);
  }

  private get userName(): string {
    return displayName(this.context.user);
  }

  private get signedIn(): boolean {
    return this.context.userIdentifier !== null;
  }

  private get rooms(): Set<string> {
    const items = this.context.items;
    let rooms = items.get(ROOMS) as Set<string> | undefined;
    if (rooms === undefined) items.set(ROOMS, (rooms = new Set()));
    return rooms;
  }
}

/**
 * The room, if the caller is in it. A function, not a method: every method of a hub is invocable by
 * clients, TypeScript's `private` ones included.
 */
function requireMembership(rooms: Set<string>, room: unknown): string {
  const name = requireText(room, 'Room');
  if (!rooms.has(name)) throw new HubException(`You are not in room '${name}'.`);
  return name;
}
