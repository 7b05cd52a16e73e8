import { createHmac, timingSafeEqual } from 'crypto';
import { ownerText, type ConnectionOwner } from './connection-owners.js';

/*
 * Issue 18: what these tokens make possible, and where each part lives.
 *
 * Start. Negotiate keeps no record: the token names the connection, and the request that starts its
 * transport makes it on whichever instance it reaches (signed-starts.ts), once per instance
 * (TokenAdmission) and, with a backplane, once per cluster: `SET {prefix}transport-claim:{id} 1 NX PX
 * window` first (ConnectionStartClaims; one round trip per start, none per request; while Redis is
 * unreachable the start goes ahead unclaimed, RedisStartClaims says why).
 *
 * Owner. The instance that holds a connection's transport owns it. A request with a token this
 * instance does not hold is verified here first (signature, endpoint, user binding: 401/403/404 answered
 * locally, without Redis), then asked of the cluster on a channel only the owner subscribes; the
 * PUBLISH's receiver count says whether anyone holds it. The local path never asks.
 *  - sends, polls and DELETE of SSE and Long Polling (carried-requests.ts over a backplane's
 *    ConnectionRelay): the owner handles them through its own request path, so statuses, order,
 *    backpressure and limits are the local ones;
 *  - a stateful re-attach whose new socket lands elsewhere (bridged-reattach.ts, RemoteTransport, a
 *    backplane's ConnectionBridge): the socket stays where it landed and is bridged to the owner, which
 *    keeps MessageReplay, so nothing is lost or duplicated.
 * An owner that does not answer in time gets the client 404 (it died; the client reconnects anywhere).
 *
 * Negotiate version 0. Its clients send the connection id where later ones send the token: the token
 * is then the id too (flagged in it), as ASP.NET Core's version 0 makes them one string.
 */

/** The shortest `connectionTokenSecret` accepted: as many bytes as the HMAC-SHA256 key it keys. */
export const MIN_TOKEN_SECRET_BYTES = 32;

/** What a connection token says about the connection it names, once its signature is checked. */
export interface ConnectionTokenClaims {
  /** The connection's id: the 16 random bytes negotiate drew, or the token itself for a client of negotiate version 0. */
  readonly connectionId: string;
  /** Stateful reconnect was asked for at negotiate and granted. */
  readonly stateful: boolean;
  /** When negotiate issued it (ms since the epoch, the issuing instance's clock). */
  readonly issuedAt: number;
  /** The owner's keyed digest: compared with `ConnectionTokens.binds`, never revealed. */
  readonly ownerTag: Buffer;
}

/** The HMAC key `connectionTokenSecret` gives; throws the bootstrap's error when it is too short to be one. */
export function tokenKey(secret: string | Buffer): Buffer {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (key.length < MIN_TOKEN_SECRET_BYTES) throw new Error(`connectionTokenSecret must have at least ${MIN_TOKEN_SECRET_BYTES} bytes; it has ${key.length}.`);
  return key;
}

const FORMAT = 1;
const ID_BYTES = 16;
const TAG_BYTES = 16;
const MAC_BYTES = 16;
// format, flags, issuedAt (48 bits), connection id, owner tag, then the MAC of all of it.
const SIGNED_BYTES = 1 + 1 + 6 + ID_BYTES + TAG_BYTES;
const TOKEN_BYTES = SIGNED_BYTES + MAC_BYTES;
const STATEFUL = 0x01;
/** Negotiate version 0: the client knows the connection by its token alone, so the token is the connection's id too. */
const ID_IS_TOKEN = 0x02;

/**
 * Connection tokens any instance sharing the secret can verify, so that the request that starts a
 * transport may reach another instance than the one that answered negotiate (issue 18): the token
 * names the connection id, whether stateful reconnect was granted, when it was issued and, as a keyed
 * digest, whose connection it is. HMAC-SHA256 over all of it with the endpoint's path, truncated to
 * 128 bits. Clients see an opaque base64url string, as ASP.NET Core's random token.
 *
 * A token is verified once, by the request that starts its connection; every later request of the
 * connection finds it by its token in the registry, as without a secret, and nothing asks Redis.
 */
export class ConnectionTokens {
  private readonly key: Buffer;

  constructor(
    secret: string | Buffer,
    /** The endpoint's path: a token opens connections only where it was negotiated. */
    private readonly endpoint: string,
  ) {
    this.key = tokenKey(secret);
  }

  /**
   * The token for a negotiated connection (whose id is 16 random bytes in base64url). With `idIsToken`
   * (negotiate version 0, whose clients send the id where later ones send the token, as ASP.NET Core's
   * version 0 makes them one string) the token also becomes the connection's id.
   */
  issue(connectionId: string, owner: ConnectionOwner, stateful: boolean, now = Date.now(), idIsToken = false): string {
    const id = Buffer.from(connectionId, 'base64url');
    if (id.length !== ID_BYTES || id.toString('base64url') !== connectionId) throw new Error(`not a connection id: ${connectionId}`);
    const token = Buffer.alloc(TOKEN_BYTES);
    token[0] = FORMAT;
    token[1] = (stateful ? STATEFUL : 0) | (idIsToken ? ID_IS_TOKEN : 0);
    token.writeUIntBE(now, 2, 6);
    id.copy(token, 8);
    this.tag(owner).copy(token, 8 + ID_BYTES);
    this.mac(token.subarray(0, SIGNED_BYTES)).copy(token, SIGNED_BYTES);
    return token.toString('base64url');
  }

  /** The claims of a token this secret signed for this endpoint, or null (anything else: altered, foreign, not a token). */
  read(token: string): ConnectionTokenClaims | null {
    // base64url of TOKEN_BYTES bytes has no padding; a longer or shorter string is not ours.
    if (token.length !== Math.ceil((TOKEN_BYTES * 4) / 3)) return null;
    const bytes = Buffer.from(token, 'base64url');
    if (bytes.length !== TOKEN_BYTES || bytes[0] !== FORMAT || bytes.toString('base64url') !== token) return null;
    if (!timingSafeEqual(this.mac(bytes.subarray(0, SIGNED_BYTES)), bytes.subarray(SIGNED_BYTES))) return null;
    return {
      connectionId: (bytes[1] & ID_IS_TOKEN) !== 0 ? token : bytes.subarray(8, 8 + ID_BYTES).toString('base64url'),
      stateful: (bytes[1] & STATEFUL) !== 0,
      issuedAt: bytes.readUIntBE(2, 6),
      ownerTag: bytes.subarray(8 + ID_BYTES, SIGNED_BYTES),
    };
  }

  /** Whether the token was issued to `owner`. */
  binds(claims: ConnectionTokenClaims, owner: ConnectionOwner): boolean {
    return timingSafeEqual(claims.ownerTag, this.tag(owner));
  }

  private tag(owner: ConnectionOwner): Buffer {
    return createHmac('sha256', this.key)
      .update(`owner\0${this.endpoint}\0${ownerText(owner)}`)
      .digest()
      .subarray(0, TAG_BYTES);
  }

  private mac(signed: Buffer): Buffer {
    return createHmac('sha256', this.key).update(`token\0${this.endpoint}\0`).update(signed).digest().subarray(0, MAC_BYTES);
  }
}

/**
 * Which signed tokens may start a connection here (negotiate keeps no record when instances share a
 * secret, so this holds for the instance that issued a token as for any other): a genuine one, within
 * the window a negotiated connection waits for its transport (the disconnect timeout, after which an
 * unstarted connection is reaped without a secret too), and only once on this instance (a token
 * whose connection started here and has since ended does not start another). Started tokens are
 * remembered until their window passes: about 150 bytes each, for the connections started in the
 * last disconnect timeout, where negotiate without a secret holds a whole connection for every
 * negotiate in it, started or not.
 *
 * Once per cluster (not two instances starting one token) is the backplane's claim, taken after
 * `spend` (ConnectionEndpoint.adopt; see the note above).
 */
export class TokenAdmission {
  /** Tokens that started a connection here, with the time their window ends, oldest first. */
  private readonly spent = new Map<string, number>();

  constructor(
    private readonly tokens: ConnectionTokens,
    private readonly window: number,
  ) {}

  /** Spent tokens still remembered. */
  get size(): number {
    return this.spent.size;
  }

  /** The claims of `token` if it may start a connection now, else null. */
  admit(token: string, now = Date.now()): ConnectionTokenClaims | null {
    this.forget(now);
    if (this.spent.has(token)) return null;
    const claims = this.tokens.read(token);
    if (claims === null || now - claims.issuedAt > this.window) return null;
    return claims;
  }

  /** Whether the token was issued to `owner`. */
  binds(claims: ConnectionTokenClaims, owner: ConnectionOwner): boolean {
    return this.tokens.binds(claims, owner);
  }

  /**
   * The token starts a connection here now, if it still may (the request was authenticated since
   * `admit` read it: its window may have passed, or another request spent it). No HMAC again.
   */
  spend(token: string, claims: ConnectionTokenClaims, now = Date.now()): boolean {
    if (this.spent.has(token) || now - claims.issuedAt > this.window) return false;
    this.spent.set(token, claims.issuedAt + this.window);
    return true;
  }

  private forget(now: number): void {
    for (const [token, until] of this.spent) {
      if (until >= now) break;
      this.spent.delete(token);
    }
  }
}
