import { HubMessage, MessageHeaders, MessageType } from './hub-messages.js';
import type { HubProtocol, RecordBounds } from './hub-protocol.js';
import { InvalidDataError } from './protocol-errors.js';
import { findTextRecord, parseJsonObject, writeTextRecord } from './text-message-format.js';

type JsonObject = Record<string, unknown>;

/**
 * The JSON hub protocol: one JSON object per record, each followed by RS. Property order is free on
 * input (the JS client writes `type` last); output follows .NET's order with `type` first.
 */
export class JsonHubProtocol implements HubProtocol {
  readonly name = 'json';
  readonly version = 2;
  readonly transferFormat = 'Text' as const;

  findRecord(buffer: Buffer, offset: number): RecordBounds | null {
    return findTextRecord(buffer, offset);
  }

  parseRecord(buffer: Buffer, start: number, end: number): HubMessage | null {
    return parseMessage(parseJsonObject(buffer, start, end));
  }

  writeMessage(message: HubMessage): Buffer {
    if (message.type === MessageType.Ping) return PING_RECORD;
    return writeTextRecord(messageText(message));
  }
}

/** `{"type":6}` and RS: every Ping is the same bytes, so they are made once. */
const PING_RECORD = writeTextRecord('{"type":6}');

/** Nesting past which the binary scan stops looking and lets the replacer handle the payload. */
const BINARY_SCAN_DEPTH = 64;

function containsBinary(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (value instanceof Uint8Array) return true;
  if (depth >= BINARY_SCAN_DEPTH) return true; // deep (or cyclic): the replacer decides, stringify reports cycles
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (containsBinary(value[i], depth + 1)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  for (let i = 0; i < keys.length; i++) if (containsBinary(record[keys[i]], depth + 1)) return true;
  return false;
}

/**
 * JSON.stringify replacer: a Uint8Array/Buffer becomes a base64 string, as .NET writes `byte[]`. It
 * reads the holder's own value, because stringify has already replaced a Buffer by its toJSON()
 * (`{"type":"Buffer","data":[...]}`) when the replacer sees it.
 */
function binaryAsBase64(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  if (original instanceof Uint8Array) {
    return Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64');
  }
  return value;
}

function parseMessage(json: JsonObject): HubMessage | null {
  if (json.type === undefined) throw new InvalidDataError("Missing required property 'type'.");
  const type = json.type;
  if (typeof type !== 'number') throw new InvalidDataError("Expected 'type' to be of type Number.");
  switch (type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation: {
      const invocationId = optionalString(json, 'invocationId');
      if (type === MessageType.StreamInvocation && !invocationId) {
        throw new InvalidDataError("Missing required property 'invocationId'.");
      }
      return {
        type,
        headers: readHeaders(json),
        invocationId: invocationId || undefined,
        target: requiredString(json, 'target'),
        arguments: requiredArray(json, 'arguments'),
        streamIds: readStreamIds(json),
      } as HubMessage;
    }
    case MessageType.StreamItem:
      if (!('item' in json)) throw new InvalidDataError("Missing required property 'item'.");
      return { type, headers: readHeaders(json), invocationId: requiredString(json, 'invocationId'), item: json.item };
    case MessageType.Completion: {
      const hasResult = 'result' in json;
      const error = optionalString(json, 'error');
      if (hasResult && error !== undefined) {
        throw new InvalidDataError("The 'error' and 'result' properties are mutually exclusive.");
      }
      const completion: HubMessage = { type, headers: readHeaders(json), invocationId: requiredString(json, 'invocationId') };
      if (error !== undefined) completion.error = error;
      else if (hasResult) completion.result = json.result;
      return completion;
    }
    case MessageType.CancelInvocation:
      return { type, headers: readHeaders(json), invocationId: requiredString(json, 'invocationId') };
    case MessageType.Ping:
      return { type };
    case MessageType.Close:
      return { type, error: optionalString(json, 'error'), allowReconnect: json.allowReconnect === true };
    case MessageType.Ack:
    case MessageType.Sequence:
      return { type, sequenceId: requiredNumber(json, 'sequenceId') };
    default:
      return null;
  }
}

function requiredString(json: JsonObject, name: string): string {
  const value = json[name];
  if (value === undefined) throw new InvalidDataError(`Missing required property '${name}'.`);
  if (typeof value !== 'string') throw new InvalidDataError(`Expected '${name}' to be of type String.`);
  return value;
}

function optionalString(json: JsonObject, name: string): string | undefined {
  const value = json[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidDataError(`Expected '${name}' to be of type String.`);
  return value;
}

function requiredNumber(json: JsonObject, name: string): number {
  const value = json[name];
  if (value === undefined) throw new InvalidDataError(`Missing required property '${name}'.`);
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidDataError(`Expected '${name}' to be of type Number.`);
  }
  return value;
}

function requiredArray(json: JsonObject, name: string): unknown[] {
  const value = json[name];
  if (value === undefined) throw new InvalidDataError(`Missing required property '${name}'.`);
  if (!Array.isArray(value)) throw new InvalidDataError(`Expected '${name}' to be of type Array.`);
  return value;
}

function readStreamIds(json: JsonObject): string[] | undefined {
  if (json.streamIds === undefined || json.streamIds === null) return undefined;
  const ids = requiredArray(json, 'streamIds');
  for (const id of ids) {
    if (typeof id !== 'string') throw new InvalidDataError("Expected 'streamIds' to contain only strings.");
  }
  return ids.length > 0 ? (ids as string[]) : undefined;
}

function readHeaders(json: JsonObject): MessageHeaders | undefined {
  const headers = json.headers;
  if (headers === undefined || headers === null) return undefined;
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    throw new InvalidDataError("Expected 'headers' to be of type Object.");
  }
  for (const [key, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw new InvalidDataError(`Expected header '${key}' to be of type String.`);
  }
  return headers as MessageHeaders;
}

/**
 * The JSON text .NET would write: `type` first, optional members only when set. Written member by
 * member rather than by stringifying a wrapper object (about twice as fast for the small messages of
 * the hot path); each value still goes through JSON.stringify, so escaping, toJSON, and members whose
 * value JSON cannot hold (left out) behave as before. One difference: a value's toJSON receives ''
 * as its key instead of the member name.
 */
function messageText(message: HubMessage): string {
  switch (message.type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation: {
      let text = `{"type":${message.type}` + headersText(message.headers);
      if (message.invocationId) text += member('invocationId', JSON.stringify(message.invocationId));
      text += member('target', JSON.stringify(message.target));
      text += member('arguments', payloadText(message.arguments));
      if (message.streamIds && message.streamIds.length > 0) text += member('streamIds', JSON.stringify(message.streamIds));
      return text + '}';
    }
    case MessageType.StreamItem:
      return `{"type":${message.type}${headersText(message.headers)}${member('invocationId', JSON.stringify(message.invocationId))}${member('item', payloadText(message.item ?? null))}}`;
    case MessageType.Completion: {
      let text = `{"type":${message.type}${headersText(message.headers)}${member('invocationId', JSON.stringify(message.invocationId))}`;
      if (message.error !== undefined) text += member('error', JSON.stringify(message.error));
      else if ('result' in message) text += member('result', payloadText(message.result ?? null));
      return text + '}';
    }
    case MessageType.CancelInvocation:
      return `{"type":${message.type}${headersText(message.headers)}${member('invocationId', JSON.stringify(message.invocationId))}}`;
    case MessageType.Ping:
      return `{"type":${message.type}}`;
    case MessageType.Close: {
      let text = `{"type":${message.type}`;
      if (message.error) text += member('error', JSON.stringify(message.error));
      if (message.allowReconnect) text += ',"allowReconnect":true';
      return text + '}';
    }
    case MessageType.Ack:
    case MessageType.Sequence:
      return `{"type":${message.type}${member('sequenceId', JSON.stringify(message.sequenceId))}}`;
  }
}

/** `,"name":text`, or nothing when JSON has no value for it (undefined, a function), as stringify leaves such members out. */
function member(name: string, text: string | undefined): string {
  return text === undefined ? '' : `,"${name}":${text}`;
}

function headersText(headers: MessageHeaders | undefined): string {
  return headers && Object.keys(headers).length > 0 ? `,"headers":${JSON.stringify(headers)}` : '';
}

/** A payload (arguments, item, result); the base64 replacer, twice as slow, only where binary values are. */
function payloadText(value: unknown): string | undefined {
  return containsBinary(value, 0) ? JSON.stringify(value, binaryAsBase64) : JSON.stringify(value);
}
