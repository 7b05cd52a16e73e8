import type { PresenceEvent } from '../lifetime/hub-presence.js';

/**
 * This instance's copy of the cluster-wide online set, kept while someone listens, so that listeners
 * hear `joined`/`left` only when that set really changed. Redis publishes `+user` / `-user` from its
 * scripts, but after an outage those messages lie both ways: a restarted (empty) Redis gets every
 * instance's users written again, which publishes `+` for users who never left, and a user whose last
 * connection closed during the outage is never published at all. So once messages may have been
 * missed the copy is "unknown"; the next read of the totals is compared with the copy from before
 * the loss, and only the differences are told.
 */
export class PresenceView {
  /** null: unknown (never read, or messages were missed since). */
  private online: Set<string> | null = null;
  /** The last known set, kept across a loss until a read replaces it. */
  private before: Set<string> | null = null;
  /** Messages heard while a read is in flight: they may be newer than what the read returns. */
  private heardDuringRead: string[] | null = null;
  private generation = 0;

  constructor(private readonly emit: (type: PresenceEvent['type'], userId: string) => void) {}

  get known(): boolean {
    return this.online !== null;
  }

  /** A `+user` or `-user` message from the presence channel. */
  heard(text: string): void {
    if (this.online !== null) this.apply(text);
    else this.heardDuringRead?.push(text); // before the read was sent, it is part of what the read returns
  }

  /** Messages may be missed from now on (the link to Redis went down). */
  lost(): void {
    if (this.online !== null) this.before = this.online;
    this.online = null;
    this.heardDuringRead = null;
    this.generation++;
  }

  /** Nobody listens any more: nothing is kept, and the next listener starts from a fresh read. */
  forget(): void {
    this.lost();
    this.before = null;
  }

  /** Call right before sending the read of the totals; hand the token to `read`. */
  reading(): number {
    this.heardDuringRead = [];
    return this.generation;
  }

  /**
   * The totals as read: the differences from the set known before the loss are told (lefts first),
   * then the messages heard while reading, each only if it changes the set. A read started before a
   * later loss is ignored.
   */
  read(token: number, users: Iterable<string>): void {
    if (token !== this.generation || this.online !== null) return;
    const now = new Set(users);
    const before = this.before;
    const heard = this.heardDuringRead ?? [];
    this.online = now;
    this.before = null;
    this.heardDuringRead = null;
    if (before !== null) {
      for (const user of before) if (!now.has(user)) this.emit('left', user);
      for (const user of now) if (!before.has(user)) this.emit('joined', user);
    }
    for (const text of heard) this.apply(text);
  }

  private apply(text: string): void {
    const online = this.online!;
    const user = text.slice(1);
    if (text[0] === '+') {
      if (online.has(user)) return;
      online.add(user);
      this.emit('joined', user);
    } else if (online.delete(user)) {
      this.emit('left', user);
    }
  }
}
