import { CloseMessage, MessageType } from '../protocol/hub-messages.js';
import { CloseTexts } from '../signalr.messages.js';

/** A Close without an error, as ASP.NET Core sends for `Context.Abort()` and a client's own Close. */
export const CLOSE_PLAIN: CloseMessage = { type: MessageType.Close };

/** A Close that lets the client reconnect (to another instance): shutdown, an expired authentication. */
export const CLOSE_RECONNECT: CloseMessage = { type: MessageType.Close, allowReconnect: true };

/** A Close carrying `error` (its message only with detailed errors), and whether the client may reconnect. */
export function closeWithError(error: unknown, detailed: boolean, allowReconnect: boolean): CloseMessage {
  return { type: MessageType.Close, error: CloseTexts.withError(error, detailed), allowReconnect };
}

/** What ends a connection whose client sent nothing for the client timeout, named as .NET names it. */
export function clientTimeoutError(): Error {
  const error = new Error(CloseTexts.clientTimeout);
  error.name = 'OperationCanceledException';
  return error;
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
