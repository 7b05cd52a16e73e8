import { Logger } from '@nestjs/common';
import type { ConnectionStartClaims } from '../interfaces/connection-start-claims.interface.js';
import { describeError, logEvent } from '../logging/log-event.js';
import type { LinkListener, RedisLink } from './redis-link.js';
import { RedisTexts } from './redis-texts.js';

/**
 * Once per cluster over Redis: the first instance to SET `{channelPrefix}transport-claim:{connectionId}`
 * NX starts the connection; the key lives for the token's window, after which no instance would
 * start it anyway. One round trip per start with a signed token, on the link's publisher.
 *
 * While Redis is unreachable the start goes ahead unclaimed, counted, with one warning per outage:
 * the backplane already serves only this instance's connections then, and refusing would turn an
 * outage of the broker into one of every new connection. What it risks is narrow: the same token
 * reaching a second instance within its window, for the user it was issued to, while Redis is down.
 */
export class RedisStartClaims implements ConnectionStartClaims, LinkListener {
  private readonly logger = new Logger('SignalR:Redis');
  private unclaimed = 0;
  /** The current outage's first unclaimed start was logged; reset when Redis is back. */
  private warned = false;

  constructor(
    private readonly link: RedisLink,
    /** The backplane's `channelPrefix`: keys of apps sharing a Redis stay apart as their channels do. */
    private readonly prefix: string,
  ) {
    link.addListener(this);
  }

  /** Starts that went ahead without a claim, Redis being unreachable, since the backplane was made. */
  get unclaimedStarts(): number {
    return this.unclaimed;
  }

  claim(connectionId: string, window: number): Promise<boolean> {
    if (!this.link.canPublish) return Promise.resolve(this.unclaimedStart(connectionId, new Error(RedisTexts.unavailable)));
    return this.link.publisher.set(`${this.prefix}transport-claim:${connectionId}`, '1', 'PX', window, 'NX').then(
      (reply) => reply === 'OK',
      (error: unknown) => this.unclaimedStart(connectionId, error),
    );
  }

  up(): void {
    this.warned = false;
  }

  down(): void {}

  private unclaimedStart(connectionId: string, error: unknown): true {
    this.unclaimed++;
    if (!this.warned) {
      this.warned = true;
      this.logger.warn(logEvent('ConnectionStartUnclaimed', RedisTexts.unclaimedStart, { connectionId, error: describeError(error) }));
    }
    return true;
  }
}
