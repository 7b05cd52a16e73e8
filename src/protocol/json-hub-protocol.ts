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
    const wire = toWireObject(message);
    // The replacer makes stringify about twice as slow, so it runs only for payloads with binary values.
    return writeTextRecord(carriesBinary(message) ? JSON.stringify(wire, binaryAsBase64) : JSON.stringify(wire));
  }
}

/** Nesting past which the binary scan stops looking and lets the replacer handle the payload. */
const BINARY_SCAN_DEPTH = 64;

/** Whether a message's payload (arguments, item or result) holds a Uint8Array/Buffer anywhere. */
function carriesBinary(message: HubMessage): boolean {
  switch (message.type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation:
      return containsBinary(message.arguments, 0);
    case MessageType.StreamItem:
      return containsBinary(message.item, 0);
    case MessageType.Completion:
      return containsBinary(message.result, 0);
    default:
      return false;
  }
}

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

/** Builds the object .NET would write: `type` first, optional members only when set. */
function toWireObject(message: HubMessage): JsonObject {
  switch (message.type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation: {
      const out: JsonObject = { type: message.type };
      if (message.headers && Object.keys(message.headers).length > 0) out.headers = message.headers;
      if (message.invocationId) out.invocationId = message.invocationId;
      out.target = message.target;
      out.arguments = message.arguments;
      if (message.streamIds && message.streamIds.length > 0) out.streamIds = message.streamIds;
      return out;
    }
    case MessageType.StreamItem:
      return withHeaders(message.headers, { type: message.type, invocationId: message.invocationId, item: message.item ?? null });
    case MessageType.Completion: {
      const out = withHeaders(message.headers, { type: message.type, invocationId: message.invocationId });
      if (message.error !== undefined) out.error = message.error;
      else if ('result' in message) out.result = message.result ?? null;
      return out;
    }
    case MessageType.CancelInvocation:
      return withHeaders(message.headers, { type: message.type, invocationId: message.invocationId });
    case MessageType.Ping:
      return { type: message.type };
    case MessageType.Close: {
      const out: JsonObject = { type: message.type };
      if (message.error) out.error = message.error;
      if (message.allowReconnect) out.allowReconnect = true;
      return out;
    }
    case MessageType.Ack:
    case MessageType.Sequence:
      return { type: message.type, sequenceId: message.sequenceId };
  }
}

function withHeaders(headers: MessageHeaders | undefined, body: JsonObject): JsonObject {
  if (!headers || Object.keys(headers).length === 0) return body;
  const { type, ...rest } = body;
  return { type, headers, ...rest };
}
