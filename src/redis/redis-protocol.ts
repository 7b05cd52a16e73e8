import { Decoder, Encoder } from '@msgpack/msgpack';
import type { SerializedMessage } from '../protocol/serialized-message.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';

/**
 * The MessagePack envelopes of ASP.NET Core's Redis backplane (RedisProtocol), section 7.2 of the
 * protocol reference:
 * - invocation: `[excludedIds, {protocolName: framedBytes}, invocationId?, returnChannel?]`
 * - group command: `[ackId, serverName, action (1 add, 2 remove), groupName, connectionId]`
 * - ack: `[ackId]`; client-result completion: `[protocolName, framedCompletionBytes]`
 *
 * Readers need the leading items and ignore the rest, so a fifth invocation item carries the
 * publishing instance's name: an instance skips its own sends when Redis echoes them back (it
 * delivered them to its own connections when sending). ASP.NET Core reads items 3-4 as nil and
 * ignores the fifth. A sixth item, when present, is the sender's W3C trace context
 * (`{ traceparent, tracestate? }`), so a send traced on one instance continues on the others;
 * envelopes without it (ASP.NET Core's, older ones of ours) are read as before.
 */
const encoder = new Encoder();
const decoder = new Decoder();

export const GroupAction = { add: 1, remove: 2 } as const;

export interface RedisInvocation {
  excludedConnectionIds: readonly string[];
  message: EnvelopeMessage;
  invocationId: string | null;
  returnChannel: string | null;
  /** The instance that published it, when it is one of ours. */
  origin: string | null;
  /** The publisher's trace context (W3C header names), when it sent one. */
  trace: Record<string, string> | null;
}

export interface RedisGroupCommand {
  ackId: number;
  serverName: string;
  action: number;
  groupName: string;
  connectionId: string;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The bytes of one send, as received: written as they are to each recipient of the same protocol.
 * A protocol the publisher sent no bytes for gives null (its recipients are skipped) and is kept in
 * `missing`, so the receiver can warn once per send instead of checking each recipient.
 */
export class EnvelopeMessage implements SerializedMessage {
  /** The first protocol a recipient used that the publisher sent no bytes for. */
  missing: string | null = null;
  private lastProtocol: HubProtocol | null = null;
  private lastBytes: Buffer | null = null;

  constructor(private readonly encodings: Readonly<Record<string, Uint8Array>>) {}

  bytesFor(protocol: HubProtocol): Buffer | null {
    if (protocol === this.lastProtocol) return this.lastBytes;
    const bytes = this.encodings[protocol.name];
    const found = bytes instanceof Uint8Array ? toBuffer(bytes) : null;
    if (found === null) this.missing ??= protocol.name;
    this.lastProtocol = protocol;
    return (this.lastBytes = found);
  }

  has(protocol: HubProtocol): boolean {
    return this.encodings[protocol.name] instanceof Uint8Array;
  }
}

export function writeInvocation(
  excludedConnectionIds: readonly string[] | undefined,
  encodings: Record<string, Buffer>,
  extra: { invocationId: string; returnChannel: string } | { origin: string } | null,
  trace: Record<string, string> | null = null,
): Buffer {
  const excluded = excludedConnectionIds ?? [];
  let items: unknown[];
  if (extra === null) items = [excluded, encodings];
  else if ('origin' in extra) items = [excluded, encodings, null, null, extra.origin];
  else items = [excluded, encodings, extra.invocationId, extra.returnChannel];
  if (trace !== null) {
    while (items.length < 5) items.push(null);
    items.push(trace);
  }
  return toBuffer(encoder.encode(items));
}

function readArray(data: Buffer, minimum: number, kind: string): unknown[] {
  const value = decoder.decode(data);
  if (!Array.isArray(value) || value.length < minimum) throw new Error(`Insufficient items in ${kind} array.`);
  return value;
}

export function readInvocation(data: Buffer): RedisInvocation {
  const items = readArray(data, 2, 'Invocation');
  const excluded = Array.isArray(items[0]) ? (items[0] as unknown[]).filter((id): id is string => typeof id === 'string') : [];
  const encodings = items[1];
  if (typeof encodings !== 'object' || encodings === null) throw new Error('The invocation has no serialized message map.');
  const invocationId = items.length > 3 && typeof items[2] === 'string' ? items[2] : null;
  const returnChannel = items.length > 3 && typeof items[3] === 'string' ? items[3] : null;
  const origin = items.length > 4 && typeof items[4] === 'string' ? items[4] : null;
  const trace = items.length > 5 && typeof items[5] === 'object' && items[5] !== null && !Array.isArray(items[5]) ? (items[5] as Record<string, string>) : null;
  return { excludedConnectionIds: excluded, message: new EnvelopeMessage(encodings as Record<string, Uint8Array>), invocationId, returnChannel, origin, trace };
}

export function writeGroupCommand(command: RedisGroupCommand): Buffer {
  return toBuffer(encoder.encode([command.ackId, command.serverName, command.action, command.groupName, command.connectionId]));
}

export function readGroupCommand(data: Buffer): RedisGroupCommand {
  const [ackId, serverName, action, groupName, connectionId] = readArray(data, 5, 'GroupCommand');
  if (
    typeof ackId !== 'number' ||
    typeof serverName !== 'string' ||
    typeof action !== 'number' ||
    typeof groupName !== 'string' ||
    typeof connectionId !== 'string'
  ) {
    throw new Error('The group command has items of the wrong types.');
  }
  return { ackId, serverName, action, groupName, connectionId };
}

export function writeAck(ackId: number): Buffer {
  return toBuffer(encoder.encode([ackId]));
}

export function readAck(data: Buffer): number {
  const [ackId] = readArray(data, 1, 'Ack');
  if (typeof ackId !== 'number') throw new Error('The ack id is not an integer.');
  return ackId;
}

export function writeCompletion(protocolName: string, framedCompletion: Buffer): Buffer {
  return toBuffer(encoder.encode([protocolName, framedCompletion]));
}

export function readCompletion(data: Buffer): { protocolName: string; bytes: Buffer } {
  const [protocolName, bytes] = readArray(data, 2, 'CompletionMessage');
  if (typeof protocolName !== 'string' || !(bytes instanceof Uint8Array)) throw new Error('The completion has items of the wrong types.');
  return { protocolName, bytes: toBuffer(bytes) };
}
