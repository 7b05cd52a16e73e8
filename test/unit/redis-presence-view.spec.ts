import { PresenceView } from '../../src/redis/redis-presence-view.js';

/** The cluster-wide online set as one instance keeps it: events only for real changes, across outages. */
describe('PresenceView', () => {
  function view() {
    const told: string[] = [];
    return { view: new PresenceView((type, userId) => told.push(`${type} ${userId}`)), told };
  }
  function readNow(presence: PresenceView, users: string[], heardMeanwhile: string[] = []) {
    const token = presence.reading();
    for (const text of heardMeanwhile) presence.heard(text);
    presence.read(token, users);
  }

  it('tells nothing for the first read, then each change once', () => {
    const { view: presence, told } = view();
    presence.heard('+early'); // before any read: part of what the read returns
    readNow(presence, ['ada', 'early']);
    expect(told).toEqual([]);
    for (const text of ['+bob', '+bob', '+ada', '-bob', '-bob', '-nobody']) presence.heard(text);
    expect(told).toEqual(['joined bob', 'left bob']);
  });

  it('after a loss, tells only the difference from before it, lefts first, ignoring what is heard until the read', () => {
    const { view: presence, told } = view();
    readNow(presence, ['ada', 'bob', 'carol']);
    presence.lost();
    presence.lost(); // a second outage before the recovery keeps the set from before the first
    expect(presence.known).toBe(false);
    for (const text of ['+ada', '+bob', '+dan']) presence.heard(text); // instances writing their users again
    expect(told).toEqual([]);
    readNow(presence, ['ada', 'bob', 'dan']);
    expect(told).toEqual(['left carol', 'joined dan']);
  });

  it('applies what was heard while the read was in flight, each only if it changes the set', () => {
    const { view: presence, told } = view();
    readNow(presence, ['ada']);
    presence.lost();
    readNow(presence, ['ada', 'bob'], ['+bob', '+eve', '-ada']);
    expect(told).toEqual(['joined bob', 'joined eve', 'left ada']);
  });

  it('ignores a read started before a newer loss, and starts afresh after forget()', () => {
    const { view: presence, told } = view();
    readNow(presence, ['ada']);
    presence.lost();
    const stale = presence.reading();
    presence.lost();
    presence.read(stale, []);
    expect(presence.known).toBe(false);
    presence.forget();
    readNow(presence, []);
    expect(told).toEqual([]); // no `left ada`: nobody was listening across the gap
  });
});
