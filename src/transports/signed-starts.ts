import type { TransportConnection } from '../connection/transport-connection.js';
import type { ConnectionStartClaims } from '../interfaces/connection-start-claims.interface.js';
import type { ConnectionOwner } from './connection-owners.js';
import { newId } from './connection-registry.js';
import { ConnectionTokens, TokenAdmission, type ConnectionTokenClaims } from './connection-tokens.js';

/** A signed token, verified here, whose connection is not made yet: it may start it on this instance. */
export interface SignedStart {
  readonly token: string;
  readonly claims: ConnectionTokenClaims;
}

/** A signed token whose connection is not here (another instance may hold it), with its claims when it may start here. */
export interface Elsewhere {
  readonly token: string;
  readonly connectionId: string;
  readonly claims: ConnectionTokenClaims | null;
}

/** What signed starts need of their endpoint: its connections, and how it makes and refuses them. */
export interface SignedStartHost<C extends TransportConnection> {
  /** The connection a token names here, if any. */
  find(token: string): C | undefined;
  /** A registered connection for a signed token that starts here, owned by `owner`. */
  make(token: string, claims: ConnectionTokenClaims, owner: ConnectionOwner): C;
  /** Logs a request by `owner` with a token issued to someone else. */
  refuseForeign(connectionId: string, owner: ConnectionOwner): void;
}

/**
 * An endpoint's signed connection tokens (`connectionTokenSecret`, issue 18): negotiate issues them
 * without keeping a record, and the request that starts a transport, on whichever instance it lands,
 * makes the connection there, once per instance (TokenAdmission) and, with a backplane, once per
 * cluster (the start claim).
 */
export class SignedStarts<C extends TransportConnection> {
  private readonly tokens: ConnectionTokens;
  private readonly admission: TokenAdmission;
  /**
   * Signed tokens whose start awaits the cluster's claim: a second request with one here waits for
   * the same outcome instead of being told 404 by `spend` (as without a backplane, it then finds the
   * connection made, and taken).
   */
  private readonly starting = new Map<string, Promise<C | 404>>();

  constructor(
    secret: string | Buffer,
    path: string,
    /** How long a token may start its connection: the endpoint's disconnect timeout. */
    private readonly window: number,
    /** With a backplane, who else started a token's connection; null otherwise. */
    private readonly claims: ConnectionStartClaims | null,
    private readonly host: SignedStartHost<C>,
  ) {
    this.tokens = new ConnectionTokens(secret, path);
    this.admission = new TokenAdmission(this.tokens, window);
  }

  /** Negotiate's connection id and token: one string for negotiate version 0, whose clients know no other. */
  issue(negotiateVersion: number, owner: ConnectionOwner, stateful: boolean): { connectionId: string; connectionToken: string } {
    // The token is signed, not random: only the id is drawn.
    const connectionId = newId();
    const connectionToken = this.tokens.issue(connectionId, owner, stateful, Date.now(), negotiateVersion === 0);
    return { connectionId: negotiateVersion === 0 ? connectionToken : connectionId, connectionToken };
  }

  /** The claims of `token` if it may start a connection here now, else null. */
  admit(token: string): ConnectionTokenClaims | null {
    return this.admission.admit(token);
  }

  /**
   * A token whose connection is not here: with `mayStart`, one that may start it here now (claims
   * set); with `mayBeElsewhere`, any this endpoint signed (claims null unless it may start here).
   */
  locate(token: string, mayStart: boolean, mayBeElsewhere: boolean): Elsewhere | null {
    const claims = mayStart ? this.admission.admit(token) : null;
    const read = claims ?? (mayBeElsewhere ? this.tokens.read(token) : null);
    return read === null ? null : { token, connectionId: read.connectionId, claims };
  }

  /** The token's claims if this endpoint signed it, whatever its age. */
  read(token: string): ConnectionTokenClaims | null {
    return this.tokens.read(token);
  }

  /** Whether the token was issued to `owner`; if not, the refusal is logged as a local one is (`UserNameChanged`), for a 403. */
  bound(claims: ConnectionTokenClaims, owner: ConnectionOwner): boolean {
    if (this.admission.binds(claims, owner)) return true;
    this.host.refuseForeign(claims.connectionId, owner);
    return false;
  }

  /**
   * The connection a signed token names, made where its transport arrived (on any instance, the one
   * that negotiated it included): only for the user the token was issued to (403 otherwise, with the
   * warning a local refusal logs), and with a backplane only if no other instance claimed its start
   * first (404 then, as for a spent token). Another request with the token may have made it while
   * this one was authenticated: then that one is it.
   */
  adopt(token: string, claims: ConnectionTokenClaims, owner: ConnectionOwner): C | 403 | 404 | Promise<C | 404> {
    if (!this.bound(claims, owner)) return 403;
    const made = this.host.find(token) ?? this.starting.get(token);
    if (made !== undefined) return made;
    if (!this.admission.spend(token, claims)) return 404;
    if (this.claims === null) return this.host.make(token, claims, owner);
    const start = this.claims
      .claim(claims.connectionId, this.window)
      .then((mine): C | 404 => (mine ? this.host.make(token, claims, owner) : 404))
      .finally(() => this.starting.delete(token));
    this.starting.set(token, start);
    return start;
  }
}
