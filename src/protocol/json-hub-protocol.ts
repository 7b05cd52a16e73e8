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
    return writeTextRecord(JSON.stringify(toWireObject(message)));
  }
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
