import { InvalidDataError } from './protocol-errors.js';
import { findTextRecord, writeTextRecord } from './text-message-format.js';
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
  let json: unknown;
  try {
    json = JSON.parse(buffer.toString('utf8', start, end));
  } catch (error) {
    throw new InvalidDataError(`Error reading JSON. ${(error as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InvalidDataError('Unexpected JSON Token Type. Expected a JSON Object.');
  }
  const { protocol, version } = json as Record<string, unknown>;
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
