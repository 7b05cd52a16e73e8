import { parseHandshakeRequest } from '../protocol/handshake-protocol.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';
import { HandshakeTexts } from '../signalr.messages.js';

/**
 * Decides a handshake: the hub protocol the client asked for, or the error text to answer with
 * (ASP.NET Core's, in the same order of checks: the request, the protocol, its version, and
 * whether the transport can carry its format).
 */
export function selectProtocol(
  protocols: ReadonlyMap<string, HubProtocol>,
  buffer: Buffer,
  start: number,
  end: number,
  transportSupportsBinary: boolean,
  detailedErrors: boolean,
): { protocol: HubProtocol; version: number } | { error: string } {
  let request;
  try {
    request = parseHandshakeRequest(buffer, start, end);
  } catch (error) {
    return { error: HandshakeTexts.unexpected(error, detailedErrors) };
  }
  const protocol = protocols.get(request.protocol);
  if (protocol === undefined) return { error: HandshakeTexts.unsupportedProtocol(request.protocol) };
  if (request.version > protocol.version) return { error: HandshakeTexts.unsupportedVersion(request.version, protocol.name) };
  if (protocol.transferFormat === 'Binary' && !transportSupportsBinary) {
    return { error: HandshakeTexts.unsupportedTransferFormat(protocol.name) };
  }
  return { protocol, version: request.version };
}
