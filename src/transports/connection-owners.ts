import { Logger } from '@nestjs/common';
import { LogTexts } from '../signalr.messages.js';
import { logEvent } from '../logging/log-event.js';
import { ClientCausedLogs } from '../logging/rate-limited-log.js';

const ANONYMOUS: unique symbol = Symbol('anonymous');

/**
 * Who a request acts as, for comparing requests on one connection: ANONYMOUS, the user's identifier,
 * or null for an authenticated user the `userIdProvider` gives no identifier.
 */
export type ConnectionOwner = typeof ANONYMOUS | string | null;

/** An owner as text, for carrying it to another instance or keying a digest: `a` anonymous, `n` no identifier, `u{identifier}`. */
export function ownerText(owner: ConnectionOwner): string {
  return typeof owner === 'symbol' ? 'a' : owner === null ? 'n' : `u${owner}`;
}

/** The owner `ownerText` wrote. */
export function ownerOfText(text: string): ConnectionOwner {
  return text === 'a' ? ANONYMOUS : text === 'n' ? null : text.slice(1);
}

function describe(owner: ConnectionOwner): string {
  return owner === ANONYMOUS ? '(anonymous)' : (owner ?? '(null)');
}

/**
 * A connection belongs to the user of the first request that named it (negotiate, or a WebSocket
 * upgrade without negotiate): the request that starts its transport, its sends, polls and DELETE,
 * and a stateful re-attach must be the same user, or anonymous again for an anonymous connection.
 * Otherwise a leaked connection token would let another user act as its owner. ASP.NET Core only
 * logs this (UserNameChanged); the refusal is what its later versions do (UserNameChangedRejected).
 *
 * Users are compared by identifier. Authenticated users without one cannot be told apart, so they
 * match each other (as ASP.NET Core's comparison of a missing NameIdentifier does), but never an
 * anonymous request: apps that let such users in should give `userIdProvider` a stable identifier.
 */
export class ConnectionOwners<C extends { readonly connectionId: string }> {
  private readonly logger = new Logger('SignalR');
  private readonly owners = new WeakMap<C, ConnectionOwner>();

  constructor(private readonly userIdProvider: (user: unknown) => string | null | undefined) {}

  /** The owner a request's user (undefined: anonymous) would be; throws what `userIdProvider` throws. */
  of(user: unknown): ConnectionOwner {
    return user === undefined || user === null ? ANONYMOUS : (this.userIdProvider(user) ?? null);
  }

  /** A request by `owner` with a signed token issued to someone else: refused, and logged as admits() logs it. */
  refuseForeign(connectionId: string, owner: ConnectionOwner): void {
    if (ClientCausedLogs.userChanged.allow())
      this.logger.warn(
        logEvent('UserNameChanged', LogTexts.userNameChanged('(the user it was negotiated for)', describe(owner), connectionId), { connectionId }),
      );
  }

  /** Records the first owner; afterwards whether `owner` is it (a refusal is logged as a warning). */
  admits(connection: C, owner: ConnectionOwner): boolean {
    const recorded = this.owners.get(connection);
    if (recorded === undefined) {
      this.owners.set(connection, owner);
      return true;
    }
    if (recorded === owner) return true;
    if (ClientCausedLogs.userChanged.allow())
      this.logger.warn(
        logEvent('UserNameChanged', LogTexts.userNameChanged(describe(recorded), describe(owner), connection.connectionId), {
          connectionId: connection.connectionId,
        }),
      );
    return false;
  }
}
