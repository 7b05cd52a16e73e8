import { Decoder, Encoder, ExtData } from '@msgpack/msgpack';
import { findBinaryRecord, writeBinaryRecord } from './binary-message-format.js';
import { HubMessage, MessageHeaders, MessageType } from './hub-messages.js';
import type { HubProtocol, RecordBounds } from './hub-protocol.js';
import { checkMessagePackRecord } from './messagepack-record-check.js';
import { MAX_NESTING_DEPTH as MAX_DEPTH, nestingTooDeep } from './nesting-depth.js';
import { InvalidDataError } from './protocol-errors.js';

/** Completion result kinds (MessagePackHubProtocolWorker). */
const ResultKind = { Error: 1, Void: 2, NonVoid: 3 } as const;

/** `[6]`, framed: the one encoding every implementation uses for Ping. */
const PING_RECORD = Buffer.from([0x02, 0x91, MessageType.Ping]);

const NO_HEADERS: MessageHeaders = Object.freeze({});

const MESSAGE_NAMES: Record<number, string> = {
  [MessageType.Invocation]: 'Invocation',
  [MessageType.StreamItem]: 'StreamItem',
  [MessageType.Completion]: 'Completion',
  [MessageType.StreamInvocation]: 'StreamInvocation',
  [MessageType.CancelInvocation]: 'CancelInvocation',
  [MessageType.Close]: 'Close',
  [MessageType.Ack]: 'Ack',
  [MessageType.Sequence]: 'Sequence',
};

/** Minimum element counts; readers accept trailing elements a later protocol version may add. */
const MIN_LENGTHS: Record<number, number> = {
  [MessageType.Invocation]: 5, // the JS client leaves out the empty streamIds array
  [MessageType.StreamInvocation]: 5,
  [MessageType.StreamItem]: 4,
  [MessageType.Completion]: 4,
  [MessageType.CancelInvocation]: 3,
  [MessageType.Close]: 2, // the JS client writes [7, nil]
  [MessageType.Ack]: 2,
  [MessageType.Sequence]: 2,
};

/**
 * The MessagePack hub protocol: each record is a VarInt length prefix and a MessagePack array whose
 * first element is the message type. Output is laid out exactly as ASP.NET Core writes it; input is
 * read as leniently as .NET and the JS client read it (5-element invocations, 2-element Close).
 * `Date` travels as the timestamp extension (−1) and `Uint8Array`/`Buffer` as bin, both ways.
 */
export class MessagePackHubProtocol implements HubProtocol {
  readonly name = 'messagepack';
  readonly version = 2;
  readonly transferFormat = 'Binary' as const;

  // ignoreUndefined: an `undefined` property is left out, as the JSON protocol leaves it out.
  private readonly encoder = new Encoder({ maxDepth: MAX_DEPTH, ignoreUndefined: true });
  private readonly decoder = new Decoder();

  findRecord(buffer: Buffer, offset: number): RecordBounds | null {
    return findBinaryRecord(buffer, offset);
  }

  parseRecord(buffer: Buffer, start: number, end: number): HubMessage | null {
    // Before the decoder, which would allocate whatever a header claims (see checkMessagePackRecord).
    checkMessagePackRecord(buffer, start, end);
    let decoded: unknown;
    try {
      decoded = this.decoder.decode(buffer.subarray(start, end));
    } catch (error) {
      throw new InvalidDataError(`Error reading MessagePack. ${decodeFailure(error as Error)}`);
    }
    return parseMessage(decoded);
  }

  writeMessage(message: HubMessage): Buffer {
    if (message.type === MessageType.Ping) return PING_RECORD;
    // The shared reference is copied once, into the framed record, before the encoder runs again.
    return writeBinaryRecord(this.encoder.encodeSharedRef(toWireArray(message)));
  }
}

/**
 * The decoder's own words, except for a record that ends inside a value: that surfaces as V8's
 * DataView bounds RangeError, which says nothing to someone reading a Close error.
 */
function decodeFailure(error: Error): string {
  if (error.name === 'RangeError' && !error.message.startsWith('Extra ')) return 'Insufficient data: the record ends inside a value.';
  return error.message;
}

function parseMessage(decoded: unknown): HubMessage | null {
  if (!Array.isArray(decoded)) throw new InvalidDataError('Reading array length for the message failed.');
  const type: unknown = decoded[0];
  if (typeof type !== 'number' || !Number.isInteger(type)) throw new InvalidDataError("Reading 'messageType' as Int32 failed.");
  const minimum = MIN_LENGTHS[type];
  if (minimum !== undefined && decoded.length < minimum) {
    throw new InvalidDataError(`Invalid payload for ${MESSAGE_NAMES[type]} message.`);
  }
  const items = takeOwnership(decoded) as unknown[];
  switch (type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation: {
      const headers = readHeaders(items[1]);
      const invocationId = optionalString(items[2], 'invocationId');
      if (type === MessageType.StreamInvocation && !invocationId) {
        throw new InvalidDataError("Missing required property 'invocationId'.");
      }
      return {
        type,
        headers,
        invocationId: invocationId || undefined, // an empty id, like nil, makes the call non-blocking
        target: requiredString(items[3], 'target'),
        arguments: requiredArray(items[4], 'arguments'),
        streamIds: items.length > 5 ? readStreamIds(items[5]) : undefined,
      } as HubMessage;
    }
    case MessageType.StreamItem:
      return { type, headers: readHeaders(items[1]), invocationId: requiredString(items[2], 'invocationId'), item: items[3] };
    case MessageType.Completion: {
      const completion: HubMessage = { type, headers: readHeaders(items[1]), invocationId: requiredString(items[2], 'invocationId') };
      const kind = items[3];
      if (typeof kind !== 'number' || !Number.isInteger(kind)) throw new InvalidDataError("Reading 'resultKind' as Int32 failed.");
      switch (kind) {
        case ResultKind.Error:
          if (items.length < 5) throw new InvalidDataError('Invalid payload for Completion message.');
          completion.error = requiredString(items[4], 'error');
          break;
        case ResultKind.NonVoid:
          if (items.length < 5) throw new InvalidDataError('Invalid payload for Completion message.');
          completion.result = items[4];
          break;
        case ResultKind.Void:
          break;
        default:
          throw new InvalidDataError('Invalid invocation result kind.');
      }
      return completion;
    }
    case MessageType.CancelInvocation:
      return { type, headers: readHeaders(items[1]), invocationId: requiredString(items[2], 'invocationId') };
    case MessageType.Ping:
      return { type };
    case MessageType.Close: {
      const allowReconnect = items.length > 2 ? items[2] : false;
      if (typeof allowReconnect !== 'boolean') throw new InvalidDataError("Reading 'allowReconnect' as Boolean failed.");
      return { type, error: optionalString(items[1], 'error') ?? undefined, allowReconnect };
    }
    case MessageType.Ack:
    case MessageType.Sequence: {
      const sequenceId = items[1];
      if (typeof sequenceId !== 'number' || !Number.isInteger(sequenceId) || sequenceId < 0) {
        throw new InvalidDataError("Reading 'sequenceId' as Int64 failed.");
      }
      return { type, sequenceId };
    }
    default:
      return null; // a type from a later protocol version: skipped, as .NET and the JS client do
  }
}

/**
 * Bin values come out of the decoder as views into the receive buffer; each becomes a Buffer of its
 * own, so a small value kept by hub code does not keep a whole frame alive. Also enforces MAX_DEPTH.
 */
function takeOwnership(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) throw nestingTooDeep();
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = takeOwnership(value[i], depth + 1);
    return value;
  }
  if (value instanceof Date) return value;
  if (value instanceof ExtData) {
    return value.data instanceof Uint8Array ? new ExtData(value.type, Buffer.from(value.data)) : value;
  }
  const map = value as Record<string, unknown>;
  for (const key of Object.keys(map)) map[key] = takeOwnership(map[key], depth + 1);
  return map;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
}

/** Headers are a map of non-empty strings; an empty map means none. */
function readHeaders(value: unknown): MessageHeaders | undefined {
  if (!isMap(value)) throw new InvalidDataError("Reading map length for 'headers' failed.");
  const entries = Object.entries(value);
  if (entries.length === 0) return undefined;
  entries.forEach(([key, header], index) => {
    if (key === '') throw new InvalidDataError('Null or empty key in header.');
    if (header === null || header === '') throw new InvalidDataError('Null or empty value in header.');
    if (typeof header !== 'string') throw new InvalidDataError(`Reading 'headers[${index}].Value' as String failed.`);
  });
  return value as MessageHeaders;
}

function requiredString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new InvalidDataError(`Reading '${field}' as String failed.`);
  return value;
}

/** A string or nil. */
function optionalString(value: unknown, field: string): string | null {
  if (value === null) return null;
  return requiredString(value, field);
}

function requiredArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new InvalidDataError(`Reading array length for '${field}' failed.`);
  return value;
}

function readStreamIds(value: unknown): string[] | undefined {
  if (value === null) return undefined;
  const ids = requiredArray(value, 'streamIds');
  ids.forEach((id, index) => requiredString(id, `streamIds[${index}]`));
  return ids.length > 0 ? (ids as string[]) : undefined;
}

/** The array ASP.NET Core writes for each message (MessagePackHubProtocolWorker). */
function toWireArray(message: Exclude<HubMessage, { type: typeof MessageType.Ping }>): unknown[] {
  switch (message.type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation:
      // Always six elements: .NET writes the streamIds array even when it is empty.
      return [message.type, message.headers ?? NO_HEADERS, message.invocationId || null, message.target, message.arguments, message.streamIds ?? []];
    case MessageType.StreamItem:
      return [message.type, message.headers ?? NO_HEADERS, message.invocationId, message.item ?? null];
    case MessageType.Completion: {
      const head = [message.type, message.headers ?? NO_HEADERS, message.invocationId];
      if (message.error !== undefined) return [...head, ResultKind.Error, message.error];
      // A present `result` (null or undefined included: a void hub method) is kind 3 with nil.
      if ('result' in message) return [...head, ResultKind.NonVoid, message.result ?? null];
      return [...head, ResultKind.Void];
    }
    case MessageType.CancelInvocation:
      return [message.type, message.headers ?? NO_HEADERS, message.invocationId];
    case MessageType.Close:
      // Always three elements, as .NET writes it (the JS client reads 2 or 3).
      return [message.type, message.error || null, message.allowReconnect === true];
    case MessageType.Ack:
    case MessageType.Sequence:
      return [message.type, message.sequenceId];
  }
}
