/**
 * Once per cluster (issue 18): a signed connection token may start its connection on any instance
 * sharing the secret, so instances on one backplane agree on which one starts it. A backplane that
 * can (`HubBackplane.startClaims()`) gives this; without a backplane there is one instance, and
 * `TokenAdmission` alone already starts a token once.
 *
 * @example
 * // The Redis backplane's: SET {channelPrefix}transport-claim:{connectionId} 1 NX PX {window}
 * if (!(await claims.claim(connectionId, disconnectTimeout))) return notFound();
 */
export interface ConnectionStartClaims {
  /**
   * Claims the start of connection `connectionId` for `window` ms (the time its token may start a
   * connection): true when this instance may start it, false when another instance claimed it first.
   * Called once per connection start that uses a signed token, never per request. Never rejects:
   * when the claim cannot be taken (the broker unreachable), the implementation decides, and says
   * how it counts such starts.
   */
  claim(connectionId: string, window: number): Promise<boolean>;
}
