import { Logger } from '@nestjs/common';
import type { HubConnection, SerializedMessage } from '../connection/hub-connection.js';
import { ClientResults, ClientResultTexts } from '../lifetime/client-results.js';
import { HubLifetimeManager } from '../lifetime/hub-lifetime-manager.js';
import type { HubPresence } from '../lifetime/hub-presence.js';
import { SerializedHubMessage, sendOutcome } from '../lifetime/serialized-hub-message.js';
import { CompletionMessage, MessageType } from '../protocol/hub-messages.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';
import type { RedisBackplaneSettings } from './redis-backplane.js';
import { RedisChannels } from './redis-channels.js';
import type { LinkListener, RedisLink } from './redis-link.js';
import { AckWaiters, RemoteResults } from './redis-pending.js';
import { RedisPresence } from './redis-presence.js';
import * as wire from './redis-protocol.js';
import { RedisTexts } from './redis-texts.js';
import { addTo, type Index, invocation, removeFrom, writeAll } from './redis-local-index.js';

const emptyGroupForSend = () => Promise.reject(new TypeError('Cannot send to an empty group name.'));
const emptyGroupForMembership = () => Promise.reject(new TypeError('The group name must be a non-empty string.'));
const isGroupName = (name: unknown): name is string => typeof name === 'string' && name.length > 0;


/**
 * A hub's lifetime manager on Redis, wire-compatible with ASP.NET Core's RedisHubLifetimeManager.
 * A send is serialized once per protocol; local recipients get those bytes at once, and one
 * envelope carrying every protocol's bytes is published per target channel. Instances subscribe
 * `all` and their internal channels from the start, and a connection, user or group channel only
 * while they hold a connection of it.
 */
export class RedisHubLifetimeManager extends HubLifetimeManager implements LinkListener {
  private readonly logger = new Logger('SignalR:Redis');
  private readonly channels: RedisChannels;
  private readonly connections = new Map<string, HubConnection>();
  private readonly groups: Index = new Map();
  private readonly users: Index = new Map();
  private readonly results = new ClientResults();
  private readonly remoteResults = new RemoteResults();
  private readonly acks = new AckWaiters();
  private readonly redisPresence: RedisPresence;
  /** SUBSCRIBE replies a new connection waits for before its hub's onConnected. */
  private readonly reachable = new WeakMap<HubConnection, Promise<void>>();
  private readonly ackChannel: string;
  private readonly returnChannel: string;
  private readonly origin: { origin: string };
  private readonly removeListener: () => void;
  private readonly started: Promise<void>;
  private readonly warnedProtocols = new Set<string>();

  constructor(
    private readonly link: RedisLink,
    prefix: string,
    private readonly protocols: ReadonlyMap<string, HubProtocol>,
    private readonly settings: RedisBackplaneSettings,
  ) {
    super();
    this.channels = new RedisChannels(prefix);
    this.ackChannel = this.channels.ack(link.serverName);
    this.returnChannel = this.channels.returnResults(link.serverName);
    this.origin = { origin: link.serverName };
    this.redisPresence = new RedisPresence(link, this.channels, settings.presenceHeartbeat);
    this.removeListener = link.addListener(this);
    this.started = Promise.all([
      link.listen(this.channels.all, (data) => this.received(this.channels.all, data, this.connections.values())),
      link.listen(this.channels.groupManagement, (data) => this.groupCommand(data)),
      link.listen(this.ackChannel, (data) => this.guard(this.ackChannel, () => this.acks.ack(wire.readAck(data)))),
      link.listen(this.returnChannel, (data) => this.completion(data)),
    ]).then(() => undefined);
    this.redisPresence.start();
  }

  /** For leak checks: connections, groups and users held here, and calls awaiting answers. */
  get stats() {
    return {
      connections: this.connections.size,
      groups: this.groups.size,
      users: this.users.size,
      pendingClientResults: this.results.pendingCount + this.remoteResults.size,
      pendingAcks: this.acks.size,
      droppedSends: this.link.droppedSends,
    };
  }

  override get presence(): HubPresence {
    return this.redisPresence;
  }

  /** The channels of `all` and this instance's internal ones are subscribed (or Redis is down). */
  whenStarted(): Promise<void> {
    return this.started;
  }

  override whenReachable(connection: HubConnection): Promise<void> | undefined {
    return this.reachable.get(connection);
  }

  onConnected(connection: HubConnection): void {
    const id = connection.connectionId;
    this.connections.set(id, connection);
    const subscribed = [this.started, this.link.listen(this.channels.connection(id), (data) => this.toConnection(id, data))];
    const userId = connection.userIdentifier;
    if (userId !== null) {
      if (addTo(this.users, userId, connection)) {
        const channel = this.channels.user(userId);
        subscribed.push(this.link.listen(channel, (data) => this.received(channel, data, this.users.get(userId))));
      }
      this.redisPresence.changed(userId, 1);
    }
    this.reachable.set(connection, Promise.all(subscribed).then(() => undefined));
  }

  onDisconnected(connection: HubConnection): void {
    const id = connection.connectionId;
    this.connections.delete(id);
    this.link.unlisten(this.channels.connection(id));
    const userId = connection.userIdentifier;
    if (userId !== null) {
      if (removeFrom(this.users, userId, connection)) this.link.unlisten(this.channels.user(userId));
      this.redisPresence.changed(userId, -1);
    }
    if (connection.groups !== null) {
      // Memberships die with the connection, without telling other instances (as ASP.NET Core).
      for (const groupName of connection.groups) if (removeFrom(this.groups, groupName, connection)) this.link.unlisten(this.channels.group(groupName));
      connection.groups = null;
    }
  }

  sendAll(method: string, args: unknown[], excludedConnectionIds?: readonly string[]): Promise<void> {
    const message = invocation(method, args);
    writeAll(this.connections.values(), message, excludedConnectionIds);
    return this.publish([this.channels.all], message, excludedConnectionIds, true);
  }

  sendConnection(connectionId: string, method: string, args: unknown[]): Promise<void> {
    const message = invocation(method, args);
    const local = this.connections.get(connectionId);
    if (local !== undefined) {
      local.writeSerialized(message);
      return sendOutcome(message);
    }
    return this.publish([this.channels.connection(connectionId)], message, undefined, false);
  }

  sendConnections(connectionIds: readonly string[], method: string, args: unknown[]): Promise<void> {
    const message = invocation(method, args);
    const remote: string[] = [];
    for (const connectionId of connectionIds) {
      const local = this.connections.get(connectionId);
      if (local !== undefined) local.writeSerialized(message);
      else remote.push(this.channels.connection(connectionId));
    }
    return remote.length === 0 ? sendOutcome(message) : this.publish(remote, message, undefined, false);
  }

  sendGroup(groupName: string, method: string, args: unknown[], excludedConnectionIds?: readonly string[]): Promise<void> {
    if (!isGroupName(groupName)) return emptyGroupForSend();
    const message = invocation(method, args);
    const members = this.groups.get(groupName);
    if (members !== undefined) writeAll(members, message, excludedConnectionIds);
    return this.publish([this.channels.group(groupName)], message, excludedConnectionIds, true);
  }

  /** Like ASP.NET Core, a connection in two of the listed groups receives the message twice. */
  sendGroups(groupNames: readonly string[], method: string, args: unknown[]): Promise<void> {
    if (!groupNames.every(isGroupName)) return emptyGroupForSend();
    const message = invocation(method, args);
    for (const groupName of groupNames) {
      const members = this.groups.get(groupName);
      if (members !== undefined) writeAll(members, message, undefined);
    }
    return this.publish(groupNames.map((name) => this.channels.group(name)), message, undefined, true);
  }

  sendUser(userId: string, method: string, args: unknown[]): Promise<void> {
    return this.sendUsers([userId], method, args);
  }

  sendUsers(userIds: readonly string[], method: string, args: unknown[]): Promise<void> {
    const message = invocation(method, args);
    for (const userId of userIds) {
      const connections = this.users.get(userId);
      if (connections !== undefined) writeAll(connections, message, undefined);
    }
    return this.publish(userIds.map((userId) => this.channels.user(userId)), message, undefined, true);
  }

  override invokeConnection<T = unknown>(connectionId: string, method: string, args: unknown[], signal?: AbortSignal): Promise<T> {
    const local = this.connections.get(connectionId);
    if (local !== undefined) return this.results.invoke<T>(local, connectionId, method, args, signal);
    if (signal?.aborted) return Promise.reject(new Error(ClientResultTexts.canceled));
    if (!this.link.isUp) return Promise.reject(new Error(RedisTexts.unavailable));
    const { invocationId, result } = this.remoteResults.create<T>(connectionId, signal);
    const message = new SerializedHubMessage({ type: MessageType.Invocation, invocationId, target: method, arguments: args });
    const encodings = this.encodings(message);
    if (message.failed) {
      this.remoteResults.fail(invocationId, message.failure as Error);
      return result;
    }
    const payload = wire.writeInvocation(undefined, encodings, { invocationId, returnChannel: this.returnChannel });
    this.link.publishCounted(this.channels.connection(connectionId), payload).then(
      (receivers) => {
        if (receivers === 0) this.remoteResults.notFound(invocationId);
      },
      (error: Error) => this.remoteResults.fail(invocationId, error),
    );
    return result;
  }

  override tryCompleteClientResult(connection: HubConnection, message: CompletionMessage): boolean {
    return this.results.tryComplete(connection, message);
  }

  addToGroup(connectionId: string, groupName: string): Promise<void> {
    if (!isGroupName(groupName)) return emptyGroupForMembership();
    const local = this.connections.get(connectionId);
    if (local !== undefined) return this.addLocal(local, groupName);
    return this.groupElsewhere(wire.GroupAction.add, connectionId, groupName);
  }

  removeFromGroup(connectionId: string, groupName: string): Promise<void> {
    if (!isGroupName(groupName)) return emptyGroupForMembership();
    const local = this.connections.get(connectionId);
    if (local !== undefined) {
      this.removeLocal(local, groupName);
      return DONE;
    }
    return this.groupElsewhere(wire.GroupAction.remove, connectionId, groupName);
  }

  /** Stops listening and removes this instance's presence; the link itself is closed by the backplane. */
  override async close(): Promise<void> {
    this.removeListener();
    this.failCallsInFlight();
    await this.redisPresence.stop();
  }

  /** LinkListener: Redis is back; channels were resubscribed, presence is written again. */
  up(): void {
    this.redisPresence.reconnected();
  }

  /** LinkListener: answers to calls in flight may never arrive, so they fail now rather than hang. */
  down(): void {
    this.redisPresence.lost();
    this.failCallsInFlight();
  }

  /** Group changes and client results awaiting another instance fail instead of waiting for answers that may never come. */
  private failCallsInFlight(): void {
    const error = new Error(RedisTexts.connectionLost);
    this.acks.failAll(error);
    this.remoteResults.failAll(error);
  }

  private addLocal(connection: HubConnection, groupName: string): Promise<void> {
    if (!connection.isOpen) return DONE;
    (connection.groups ??= new Set()).add(groupName);
    if (!addTo(this.groups, groupName, connection)) return DONE;
    const channel = this.channels.group(groupName);
    return this.link.listen(channel, (data) => this.received(channel, data, this.groups.get(groupName)));
  }

  private removeLocal(connection: HubConnection, groupName: string): void {
    if (connection.groups === null || !connection.groups.delete(groupName)) return;
    if (removeFrom(this.groups, groupName, connection)) this.link.unlisten(this.channels.group(groupName));
  }

  /** ASP.NET Core's group command: the owning instance applies it and acks; nobody acking times out. */
  private groupElsewhere(action: number, connectionId: string, groupName: string): Promise<void> {
    if (!this.link.isUp) return Promise.reject(new Error(RedisTexts.unavailable));
    const timeout = this.settings.ackTimeout;
    const verb = action === wire.GroupAction.add ? 'add' : 'remove';
    const { ackId, acked } = this.acks.create(timeout, () => new Error(RedisTexts.groupTimeout(verb, connectionId, groupName, timeout)));
    const command = wire.writeGroupCommand({ ackId, serverName: this.link.serverName, action, groupName, connectionId });
    this.link.publish(this.channels.groupManagement, command).catch((error: Error) => this.acks.fail(ackId, error));
    return acked;
  }

  private groupCommand(data: Buffer): void {
    this.guard(this.channels.groupManagement, () => {
      const command = wire.readGroupCommand(data);
      const connection = this.connections.get(command.connectionId);
      if (connection === undefined) return; // another instance owns it, or nobody does
      const applied =
        command.action === wire.GroupAction.remove ? (this.removeLocal(connection, command.groupName), DONE) : this.addLocal(connection, command.groupName);
      void applied.then(() => this.link.publish(this.channels.ack(command.serverName), wire.writeAck(command.ackId)).catch(() => undefined));
    });
  }

  /** An invocation for one local connection: a plain send, or a client result asked by another instance. */
  private toConnection(connectionId: string, data: Buffer): void {
    this.guard(this.channels.connection(connectionId), () => {
      const received = wire.readInvocation(data);
      const connection = this.connections.get(connectionId);
      if (connection === undefined || !this.deliverable(connection, received.message)) return;
      const { invocationId, returnChannel } = received;
      if (invocationId !== null && returnChannel !== null) {
        // A client result from another instance counts toward this connection's cap like a local one.
        const accepted = this.results.forward(connection, invocationId, {
          completed: (message) => this.reply(returnChannel, connection, message),
          disconnected: () => this.reply(returnChannel, connection, { type: MessageType.Completion, invocationId, error: RedisTexts.remoteDisconnected }),
        });
        if (!accepted) return;
      }
      connection.writeSerialized(received.message);
    });
  }

  /** Sends the client's Completion back to the asking instance, framed in the connection's protocol. */
  private reply(returnChannel: string, connection: HubConnection, message: CompletionMessage): void {
    const protocol = connection.protocol ?? this.protocols.get('json')!;
    this.link.publish(returnChannel, wire.writeCompletion(protocol.name, protocol.writeMessage(message))).catch(() => undefined);
  }

  private completion(data: Buffer): void {
    this.guard(this.returnChannel, () => {
      const { protocolName, bytes } = wire.readCompletion(data);
      const protocol = this.protocols.get(protocolName);
      if (protocol === undefined) throw new Error(RedisTexts.missingProtocol(protocolName));
      const bounds = protocol.findRecord(bytes, 0);
      const message = bounds === null ? null : protocol.parseRecord(bytes, bounds.start, bounds.end);
      if (message?.type !== MessageType.Completion) throw new Error('The answer is not a Completion message.');
      this.remoteResults.complete(message);
    });
  }

  /** An invocation published to all, a group or a user: written to the matching local connections. */
  private received(channel: string, data: Buffer, recipients: Iterable<HubConnection> | undefined): void {
    this.guard(channel, () => {
      if (recipients === undefined) return;
      const received = wire.readInvocation(data);
      if (received.origin === this.link.serverName) return; // sent here, and delivered here when sent
      const excluded = received.excludedConnectionIds.length > 0 ? received.excludedConnectionIds : null;
      for (const connection of recipients) {
        if ((excluded === null || !excluded.includes(connection.connectionId)) && this.deliverable(connection, received.message)) {
          connection.writeSerialized(received.message);
        }
      }
    });
  }

  /** False when the publisher sent no bytes for the connection's protocol (warned once per protocol). */
  private deliverable(connection: HubConnection, message: wire.EnvelopeMessage): boolean {
    if (connection.protocol === null || message.has(connection.protocol)) return true;
    const name = connection.protocol.name;
    if (!this.warnedProtocols.has(name)) {
      this.warnedProtocols.add(name);
      this.logger.warn(RedisTexts.missingProtocol(name));
    }
    return false;
  }

  /**
   * One envelope for every channel of a send. Sends that may come back to this instance (all,
   * groups, users) carry its name so the echo is skipped. While Redis is down the local part of the
   * send has happened; the rest is counted and the send resolves.
   */
  private publish(channelNames: string[], message: SerializedHubMessage, excluded: readonly string[] | undefined, mayEcho: boolean): Promise<void> {
    if (channelNames.length === 0) return sendOutcome(message);
    if (!this.link.canPublish) {
      this.link.countDropped();
      return sendOutcome(message);
    }
    const encodings = this.encodings(message);
    // A protocol could not write the arguments: other instances get nothing, the caller the error.
    if (message.failed) return sendOutcome(message);
    const payload = wire.writeInvocation(excluded, encodings, mayEcho ? this.origin : null);
    const sent = channelNames.map((channel) => this.link.publish(channel, payload));
    return (sent.length === 1 ? sent[0] : Promise.all(sent)).then(NOOP, () => this.link.countDropped());
  }

  /** Every protocol's bytes, each made once (and reused by the local recipients of the same send). */
  private encodings(message: SerializedMessage): Record<string, Buffer> {
    const encodings: Record<string, Buffer> = {};
    for (const [name, protocol] of this.protocols) {
      const bytes = message.bytesFor(protocol);
      if (bytes !== null) encodings[name] = bytes;
    }
    return encodings;
  }

  private guard(channel: string, handle: () => void): void {
    try {
      handle();
    } catch (error) {
      this.logger.warn(RedisTexts.badEnvelope(channel, error instanceof Error ? error.message : String(error)));
    }
  }
}

const DONE = Promise.resolve();
const NOOP = () => undefined;
