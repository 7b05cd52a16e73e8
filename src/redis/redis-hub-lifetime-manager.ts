import { Logger } from '@nestjs/common';
import type { SerializedMessage } from '../protocol/serialized-message.js';
import { ClientResults, ClientResultTexts } from '../lifetime/client-results.js';
import type { LocalConnection } from '../lifetime/hub-connection-context.js';
import { HubLifetimeManager } from '../lifetime/hub-lifetime-manager.js';
import type { HubPresence } from '../lifetime/hub-presence.js';
import { type HubTarget, refuseGroupName, refuseTarget } from '../lifetime/hub-target.js';
import { LocalConnectionIndex } from '../lifetime/local-connection-index.js';
import { invocation, SerializedHubMessage, sendOutcome } from '../lifetime/serialized-hub-message.js';
import { CompletionMessage, MessageType } from '../protocol/hub-messages.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';
import { RedisChannels } from './redis-channels.js';
import type { LinkListener, RedisLink } from './redis-link.js';
import { AckWaiters, RemoteResults } from './redis-pending.js';
import { RedisPresence } from './redis-presence.js';
import * as wire from './redis-protocol.js';
import { logEvent } from '../logging/log-event.js';
import { RedisTexts } from './redis-texts.js';
import { publishedChannels } from './redis-target-channels.js';
import { backplaneTelemetry } from '../observability/backplane-telemetry.js';
import { traceBackplaneDelivery } from '../observability/outbound-telemetry.js';
import { currentTraceHeaders } from '../observability/trace-context.js';

/** The backplane's resolved settings a hub's manager reads (from `RedisBackplaneOptions`). */
export interface RedisBackplaneSettings {
  channelPrefix: string;
  ackTimeout: number;
  presenceHeartbeat: number;
}

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
  private readonly index = new LocalConnectionIndex();
  private readonly results = new ClientResults();
  private readonly remoteResults = new RemoteResults();
  private readonly acks = new AckWaiters();
  private readonly redisPresence: RedisPresence;
  /** SUBSCRIBE replies a new connection waits for before its hub's onConnected. */
  private readonly reachable = new WeakMap<LocalConnection, Promise<void>>();
  private readonly ackChannel: string;
  private readonly returnChannel: string;
  private readonly origin: { origin: string };
  private readonly removeListener: () => void;
  private readonly started: Promise<void>;
  private readonly warnedProtocols = new Set<string>();
  /** Bound once: a disconnect that empties groups unsubscribes them without a closure per call. */
  private readonly unlistenGroup = (groupName: string) => this.link.unlisten(this.channels.group(groupName));

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
      link.listen(this.channels.all, (data) => this.received(this.channels.all, data, null)),
      link.listen(this.channels.groupManagement, (data) => this.groupCommand(data)),
      link.listen(this.ackChannel, (data) => this.guard(this.ackChannel, () => this.acks.ack(wire.readAck(data)))),
      link.listen(this.returnChannel, (data) => this.completion(data)),
    ]).then(() => undefined);
    this.redisPresence.start();
  }

  /** For leak checks: connections, groups and users held here, and calls awaiting answers. */
  get stats() {
    return {
      connections: this.index.connectionCount,
      groups: this.index.groupCount,
      users: this.index.userCount,
      pendingClientResults: this.results.pendingCount + this.remoteResults.size,
      pendingAcks: this.acks.size,
      droppedSends: this.link.droppedSends,
    };
  }

  /** This hub's presence heartbeat, for the backplane's statistics. */
  get heartbeat(): { readonly lastHeartbeatAt: number | null; readonly stale: boolean } {
    return this.redisPresence;
  }

  override get presence(): HubPresence {
    return this.redisPresence;
  }

  /** The channels of `all` and this instance's internal ones are subscribed (or Redis is down). */
  whenStarted(): Promise<void> {
    return this.started;
  }

  override whenReachable(connection: LocalConnection): Promise<void> | undefined {
    return this.reachable.get(connection);
  }

  onConnected(connection: LocalConnection): void {
    const id = connection.connectionId;
    const subscribed = [this.started, this.link.listen(this.channels.connection(id), (data) => this.toConnection(id, data))];
    const userId = connection.userIdentifier;
    const firstOfUser = this.index.add(connection);
    if (userId !== null) {
      const channel = this.channels.user(userId);
      // A later connection of the user waits for the first one's SUBSCRIBE if it is still in flight.
      const pending = firstOfUser
        ? this.link.listen(channel, (data) => this.received(channel, data, { kind: 'user', id: userId }))
        : this.link.subscribing(channel);
      if (pending !== undefined) subscribed.push(pending);
      this.redisPresence.changed(userId, 1);
    }
    this.reachable.set(
      connection,
      Promise.all(subscribed).then(() => undefined),
    );
  }

  /** Memberships die with the connection, without telling other instances (as ASP.NET Core). */
  onDisconnected(connection: LocalConnection): void {
    this.link.unlisten(this.channels.connection(connection.connectionId));
    const userId = connection.userIdentifier;
    if (this.index.remove(connection, this.unlistenGroup)) this.link.unlisten(this.channels.user(userId!));
    if (userId !== null) this.redisPresence.changed(userId, -1);
  }

  /** Local recipients get the bytes at once; the channels the target names (if any) get one envelope. */
  send(target: HubTarget, method: string, args: unknown[]): Promise<void> {
    const refusal = refuseTarget(target);
    if (refusal !== null) return refusal;
    const message = invocation(method, args);
    this.index.write(target, message);
    const published = publishedChannels(this.channels, target, this.index);
    if (published === null) return sendOutcome(message);
    return this.publish(published.channels, message, published.except, published.mayEcho);
  }

  override invokeConnection<T = unknown>(connectionId: string, method: string, args: unknown[], signal?: AbortSignal): Promise<T> {
    const local = this.index.get(connectionId);
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
    const payload = wire.writeInvocation(undefined, encodings, { invocationId, returnChannel: this.returnChannel }, currentTraceHeaders());
    this.link.publishCounted(this.channels.connection(connectionId), payload).then(
      (receivers) => {
        if (receivers === 0) this.remoteResults.notFound(invocationId);
      },
      (error: Error) => this.remoteResults.fail(invocationId, error),
    );
    return result;
  }

  override tryCompleteClientResult(connection: LocalConnection, message: CompletionMessage): boolean {
    return this.results.tryComplete(connection, message);
  }

  addToGroup(connectionId: string, groupName: string): Promise<void> {
    const refusal = refuseGroupName(groupName);
    if (refusal !== null) return refusal;
    const local = this.index.get(connectionId);
    if (local !== undefined) return this.addLocal(local, groupName);
    return this.groupElsewhere(wire.GroupAction.add, connectionId, groupName);
  }

  removeFromGroup(connectionId: string, groupName: string): Promise<void> {
    const refusal = refuseGroupName(groupName);
    if (refusal !== null) return refusal;
    const local = this.index.get(connectionId);
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

  /**
   * The group's first member here subscribes its channel; every add settles once Redis confirmed
   * it (a later joiner waits for the first one's SUBSCRIBE still in flight), as ASP.NET Core's.
   */
  private addLocal(connection: LocalConnection, groupName: string): Promise<void> {
    const channel = this.channels.group(groupName);
    if (!this.index.addToGroup(connection, groupName)) return this.link.subscribing(channel) ?? DONE;
    return this.link.listen(channel, (data) => this.received(channel, data, { kind: 'group', name: groupName }));
  }

  private removeLocal(connection: LocalConnection, groupName: string): void {
    if (this.index.removeFromGroup(connection, groupName)) this.unlistenGroup(groupName);
  }

  /** ASP.NET Core's group command: the owning instance applies it and acks; nobody acking times out. */
  private groupElsewhere(action: number, connectionId: string, groupName: string): Promise<void> {
    if (!this.link.isUp) return Promise.reject(new Error(RedisTexts.unavailable));
    const timeout = this.settings.ackTimeout;
    const verb = action === wire.GroupAction.add ? 'add' : 'remove';
    const { ackId, acked } = this.acks.create(timeout, () => new Error(RedisTexts.groupTimeout(verb, connectionId, groupName, timeout)));
    const command = wire.writeGroupCommand({ ackId, serverName: this.link.serverName, action, groupName, connectionId });
    this.link.publish(this.channels.groupManagement, command).catch((error: Error) => this.acks.fail(ackId, error));
    return backplaneTelemetry.acked(acked);
  }

  private groupCommand(data: Buffer): void {
    this.guard(this.channels.groupManagement, () => {
      const command = wire.readGroupCommand(data);
      const connection = this.index.get(command.connectionId);
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
      const connection = this.index.get(connectionId);
      if (connection === undefined || !this.deliverable(connection, received.message)) return;
      traceBackplaneDelivery(this, received.trace)?.end();
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
  private reply(returnChannel: string, connection: LocalConnection, message: CompletionMessage): void {
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

  /**
   * An invocation published to all (`target` null: all but the envelope's excluded ids), a group
   * (less those ids) or a user: written to the local connections the target reaches.
   */
  private received(channel: string, data: Buffer, target: HubTarget | null): void {
    this.guard(channel, () => {
      const received = wire.readInvocation(data);
      if (received.origin === this.link.serverName) return; // sent here, and delivered here when sent
      const except = received.excludedConnectionIds;
      const message = received.message;
      const span = traceBackplaneDelivery(this, received.trace);
      this.index.write(target === null ? { kind: 'all', except } : target.kind === 'group' ? { kind: 'group', name: target.name, except } : target, message);
      span?.end();
      if (message.missing !== null) this.warnMissing(message.missing);
    });
  }

  /** False when the publisher sent no bytes for the connection's protocol (warned once per protocol). */
  private deliverable(connection: LocalConnection, message: wire.EnvelopeMessage): boolean {
    if (connection.protocol === null || message.has(connection.protocol)) return true;
    this.warnMissing(connection.protocol.name);
    return false;
  }

  private warnMissing(protocolName: string): void {
    if (this.warnedProtocols.has(protocolName)) return;
    this.warnedProtocols.add(protocolName);
    this.logger.warn(logEvent('MismatchedServers', RedisTexts.missingProtocol(protocolName)));
  }

  /**
   * One envelope for every channel of a send. Sends that may come back to this instance (all,
   * groups, users) carry its name so the echo is skipped. While Redis is down the local part of the
   * send has happened; the rest is counted and the send resolves.
   */
  private publish(channelNames: readonly string[], message: SerializedHubMessage, excluded: readonly string[] | undefined, mayEcho: boolean): Promise<void> {
    if (!this.link.canPublish) {
      this.link.countDropped();
      return sendOutcome(message);
    }
    const encodings = this.encodings(message);
    // A protocol could not write the arguments: other instances get nothing, the caller the error.
    if (message.failed) return sendOutcome(message);
    const payload = wire.writeInvocation(excluded, encodings, mayEcho ? this.origin : null, currentTraceHeaders());
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
      this.logger.warn(logEvent('InternalMessageFailed', RedisTexts.badEnvelope(channel, error instanceof Error ? error.message : String(error))));
    }
  }
}

const DONE = Promise.resolve();
const NOOP = () => undefined;
