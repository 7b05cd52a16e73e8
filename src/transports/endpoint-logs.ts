import { Logger } from '@nestjs/common';
import { describeError, logEvent, stackOf } from '../logging/log-event.js';
import { ClientCausedLogs } from '../logging/rate-limited-log.js';
import { LogTexts } from '../signalr.messages.js';

const logger = new Logger('SignalR');

/**
 * A request an exception ended: answered with 500, or cut off when its response had begun. Without
 * this line the client's 500 would be all anyone sees of the error.
 */
export function logRequestFailed(what: string, path: string, error: unknown, cutOff: boolean): void {
  if (ClientCausedLogs.requestFailed.allow()) {
    logger.error(logEvent('ApplicationError', LogTexts.requestFailed(what, path, cutOff), { error: describeError(error) }), stackOf(error));
  }
}

/**
 * `authenticate` threw, which refuses the request with 401 like a missing user does; unlike that,
 * it says why: it is how a token that does not verify is refused, or a bug in the function. At
 * information level (Nest's `log`), as ASP.NET Core's authentication handlers log a token that fails,
 * since expired and forged tokens are everyday traffic rather than faults of the server.
 */
export function logAuthenticationFailed(path: string, error: unknown): void {
  if (ClientCausedLogs.authenticationFailed.allow()) {
    logger.log(logEvent('AuthenticationFailed', LogTexts.authenticationFailed(path, error), { error: describeError(error) }));
  }
}
