/** Close codes that end a WebSocket connection cleanly (normal, going away, no status), as ASP.NET Core treats them. */
const CLEAN_CLOSE_CODES = new Set([1000, 1001, 1005]);

/**
 * What a WebSocket closed with `code` tells the connection loop: undefined for a clean close, else the
 * error ASP.NET Core reports for a socket that went without the close handshake. Shared by a local
 * socket and one bridged from another instance, which end alike.
 */
export function webSocketCloseError(code: number): Error | undefined {
  if (CLEAN_CLOSE_CODES.has(code)) return undefined;
  const error = new Error('The remote party closed the WebSocket connection without completing the close handshake.');
  error.name = 'WebSocketException';
  return error;
}
