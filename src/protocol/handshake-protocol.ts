import { InvalidDataError } from './protocol-errors.js';
import { findTextRecord, parseJsonObject, writeTextRecord } from './text-message-format.js';
import type { RecordBounds } from './hub-protocol.js';

/** What the client asks for in its first record: `{"protocol":"json","version":1}` + RS. */
export interface HandshakeRequest {
  protocol: string;
  version: number;
}

/** The handshake is JSON text ending in RS for every hub protocol. */
export function findHandshakeRecord(buffer: Buffer, offset = 0): RecordBounds | null {
  return findTextRecord(buffer, offset);
}

/** Parses the handshake request; unknown extra properties are ignored, as in .NET. */
export function parseHandshakeRequest(buffer: Buffer, start: number, end: number): HandshakeRequest {
  const { protocol, version } = parseJsonObject(buffer, start, end);
  if (protocol === undefined) throw new InvalidDataError("Missing required property 'protocol'.");
  if (typeof protocol !== 'string') throw new InvalidDataError("Expected 'protocol' to be of type String.");
  if (version === undefined) throw new InvalidDataError("Missing required property 'version'.");
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    throw new InvalidDataError("Expected 'version' to be of type Number.");
  }
  return { protocol, version };
}

const HANDSHAKE_SUCCESS = writeTextRecord('{}');

/** `{}` + RS on success, `{"error":"..."}` + RS on failure. */
export function writeHandshakeResponse(error?: string): Buffer {
  return error === undefined ? HANDSHAKE_SUCCESS : writeTextRecord(JSON.stringify({ error }));
}
