/**
 * Stateful re-attach across instances (issue 18): a client's new WebSocket for a stateful connection
 * may land on another instance than the one holding the connection. That instance (the socket side)
 * asks the owner to take the socket; once the owner accepted, frames cross both ways, each side
 * sending only as much as the other gave it credit for, so neither buffers more than a window.
 * A backplane that can (`HubBackplane.connectionBridge()`) gives this; it is asked only when the
 * module has a `connectionTokenSecret` (without one a token names a connection on one instance only).
 *
 * @example
 * // Owner: while a stateful connection is held here.
 * const release = bridge.hold(connection.connectionId, { attach: (owner, link) => accept(owner, link) });
 * // Socket side: a verified token whose connection is elsewhere.
 * const answer = await bridge.attach(connectionId, owner, socketSide);
 */
export interface ConnectionBridge {
  /**
   * Owner side: serves attach requests for `connectionId` while it is held here. Returns what ends
   * that (when the connection ends); with nothing held, an attach request finds no owner at once.
   */
  hold(connectionId: string, host: BridgeHost): () => void;
  /**
   * Socket side: asks the owner of `connectionId` to take a socket opened by `owner` (see
   * `BridgedOwner`). Resolves with the link to the owner, or the status the upgrade is refused with:
   * the owner's 403 or 409, or 404 when no instance holds the connection or its owner did not answer
   * in time. Never rejects.
   */
  attach(connectionId: string, owner: BridgedOwner, events: BridgeEvents): Promise<BridgeLink | 403 | 404 | 409>;
}

/** Who a re-attach acts as, as text: `a` anonymous, `n` a user without identifier, `u{identifier}` a user. */
export type BridgedOwner = string;

/** What the owner does with an attach request: the events its side of the bridge hears, or a refusal. */
export type AttachAnswer = BridgeEvents | 403 | 404 | 409;

/** The owner's part: a connection held here that may take a socket another instance bridges. */
export interface BridgeHost {
  /** A socket opened by `owner` arrived elsewhere; `link` reaches it. Called at most once per request. */
  attach(owner: BridgedOwner, link: BridgeLink): AttachAnswer;
}

/** One side's way to the other over an accepted bridge. */
export interface BridgeLink {
  /** One WebSocket message to the other side (the client's frames to the owner, the owner's writes to the client). */
  frame(data: Buffer, binary: boolean): void;
  /** Gives the other side back `bytes` of its window: that many bytes of its frames were taken. */
  credit(bytes: number): void;
  /** Ends the bridge: the owner closes its socket with `code`; the socket side tells the code its client closed with. */
  close(code: number): void;
  /** How many bytes this side may have in flight before it waits for credit. */
  readonly window: number;
}

/** What one side hears from the other. */
export interface BridgeEvents {
  /** One WebSocket message from the other side. */
  frame(data: Buffer, binary: boolean): void;
  /** The other side took `bytes` of this side's frames: that much more may be in flight. */
  credit(bytes: number): void;
  /** The other side ended the bridge with `code`, or went silent (its instance died or lost the broker): 1006. */
  closed(code: number): void;
}
