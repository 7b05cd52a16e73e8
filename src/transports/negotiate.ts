import type { TransportName } from '../connection/connection-transport.js';
import { HttpTexts } from '../signalr.messages.js';

/** What negotiate tells about a connection. */
interface NegotiatedConnection {
  readonly connectionId: string;
  readonly connectionToken: string;
  /** Stateful reconnect was asked for and granted (hubs only). */
  readonly statefulRequested?: boolean;
}

/** Highest negotiate version this server speaks. */
export const MAX_NEGOTIATE_VERSION = 1;

const TRANSFER_FORMATS: Record<TransportName, string[]> = {
  WebSockets: ['Text', 'Binary'],
  ServerSentEvents: ['Text'],
  LongPolling: ['Text', 'Binary'],
};

/** The client's `negotiateVersion` (key matched case-insensitively), or the error text to answer with. */
export function readNegotiateVersion(query: URLSearchParams): { version: number } | { error: string } {
  let raw: string | undefined;
  for (const [key, value] of query) {
    if (key.toLowerCase() === 'negotiateversion') {
      raw = value;
      break;
    }
  }
  if (raw === undefined) return { version: 0 };
  if (!/^-?\d+$/.test(raw.trim())) return { error: HttpTexts.nonIntegerVersion };
  const version = Number(raw);
  if (version < 0) return { error: HttpTexts.unsupportedVersion(version) };
  return { version: Math.min(version, MAX_NEGOTIATE_VERSION) };
}

/** The negotiate response body, with .NET's property order. */
export function negotiateResponse(
  version: number,
  connection: NegotiatedConnection,
  transports: readonly TransportName[],
  /** Seconds the user's authentication has left, reported with authentication refresh on (the client schedules its refresh by it). */
  tokenLifetimeSeconds?: number,
): string {
  // .NET's property order: the stateful reconnect flag first, and only when granted (JS rejects an unsolicited one).
  const body: Record<string, unknown> = connection.statefulRequested ? { useStatefulReconnect: true } : {};
  body.negotiateVersion = version;
  body.connectionId = connection.connectionId;
  if (version >= 1) body.connectionToken = connection.connectionToken;
  body.availableTransports = transports.map((transport) => ({ transport, transferFormats: TRANSFER_FORMATS[transport] }));
  if (tokenLifetimeSeconds !== undefined) body.tokenLifetimeSeconds = tokenLifetimeSeconds;
  return JSON.stringify(body);
}

/** Whether the client asked for stateful reconnect (`useStatefulReconnect=true`; key and value case-insensitive, as .NET). */
export function wantsStatefulReconnect(query: URLSearchParams): boolean {
  for (const [key, value] of query) {
    if (key.toLowerCase() === 'usestatefulreconnect') return value.trim().toLowerCase() === 'true';
  }
  return false;
}
