import { randomBytes } from 'crypto';
import { ConnectionOwners } from '../../src/transports/connection-owners.js';
import { ConnectionTokens, TokenAdmission } from '../../src/transports/connection-tokens.js';
import { newConnectionIds } from '../../src/transports/connection-registry.js';

const SECRET = 'a shared secret of at least 32 bytes, for tests';
const owners = new ConnectionOwners<{ connectionId: string }>((user) => (user as { id?: string }).id);
const ada = owners.of({ id: 'ada' });
const anonymous = owners.of(undefined);
const nameless = owners.of({});

describe('ConnectionTokens: signed tokens any instance with the secret can read', () => {
  const tokens = new ConnectionTokens(SECRET, '/hubs/chat');
  const { connectionId } = newConnectionIds(1);

  it('reads back what it issued: id, stateful flag, issue time; the owner only as a digest', () => {
    const token = tokens.issue(connectionId, ada, true, 1_765_000_000_123);
    expect(token).toMatch(/^[A-Za-z0-9_-]{75}$/);
    expect(token).not.toContain(connectionId);
    const claims = tokens.read(token)!;
    expect({ ...claims, ownerTag: claims.ownerTag.length }).toEqual({ connectionId, stateful: true, issuedAt: 1_765_000_000_123, ownerTag: 16 });
    expect(tokens.read(tokens.issue(connectionId, ada, false))!.stateful).toBe(false);
  });

  it('another instance with the same secret reads it; one with another secret, or another endpoint, does not', () => {
    const token = tokens.issue(connectionId, ada, false);
    expect(new ConnectionTokens(Buffer.from(SECRET), '/hubs/chat').read(token)!.connectionId).toBe(connectionId);
    expect(new ConnectionTokens(randomBytes(32), '/hubs/chat').read(token)).toBeNull();
    expect(new ConnectionTokens(SECRET, '/hubs/other').read(token)).toBeNull();
  });

  it('binds the owner: the same user, anonymous or a user without identifier, each only itself', () => {
    for (const [owner, others] of [
      [ada, [anonymous, nameless, owners.of({ id: 'bob' }), owners.of({ id: 'Ada' })]],
      [anonymous, [ada, nameless]],
      [nameless, [ada, anonymous]],
    ] as const) {
      const claims = tokens.read(tokens.issue(connectionId, owner, false))!;
      expect(tokens.binds(claims, owner)).toBe(true);
      expect(others.map((other) => tokens.binds(claims, other))).toEqual(others.map(() => false));
    }
    // A user id that reads like the anonymous or nameless marker is still a user.
    const claims = tokens.read(tokens.issue(connectionId, 'a', false))!;
    expect([tokens.binds(claims, 'a'), tokens.binds(claims, anonymous)]).toEqual([true, false]);
  });

  it('refuses every altered character, a truncated or extended token, a random id and an ASP.NET-style token', () => {
    const token = tokens.issue(connectionId, ada, true);
    for (let at = 0; at < token.length; at++) {
      const altered = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
      expect(tokens.read(altered)).toBeNull();
    }
    expect(tokens.read(token.slice(0, -1))).toBeNull();
    expect(tokens.read(`${token}A`)).toBeNull();
    expect(tokens.read('')).toBeNull();
    expect(tokens.read(newConnectionIds(1).connectionToken)).toBeNull();
    expect(tokens.read(`${token.slice(0, -1)}=`)).toBeNull();
  });

  it('refuses a secret shorter than 32 bytes, and an id that is not one of ours', () => {
    expect(() => new ConnectionTokens('short', '/hubs/chat')).toThrow('connectionTokenSecret must have at least 32 bytes; it has 5.');
    expect(() => tokens.issue('not-an-id', ada, false)).toThrow('not a connection id: not-an-id');
  });
});

describe('TokenAdmission: which signed tokens may start a connection here', () => {
  const tokens = new ConnectionTokens(SECRET, '/hubs/chat');
  const issuedAt = 1_765_000_000_000;

  it('a genuine token within the disconnect timeout of its issue, once', () => {
    const foreign = new TokenAdmission(tokens, 15_000);
    const token = tokens.issue(newConnectionIds(1).connectionId, ada, false, issuedAt);
    const claims = foreign.admit(token, issuedAt + 15_000)!;
    expect(claims.issuedAt).toBe(issuedAt);
    expect(foreign.binds(claims, ada)).toBe(true);
    expect(foreign.admit(token, issuedAt + 15_001)).toBeNull();
    expect(foreign.spend(token, claims, issuedAt + 15_001)).toBe(false);
    expect(foreign.spend(token, claims, issuedAt + 15_000)).toBe(true);
    expect(foreign.spend(token, claims, issuedAt + 1)).toBe(false);
    expect(foreign.admit(token, issuedAt + 1)).toBeNull();
    expect(foreign.admit(`${token}x`, issuedAt + 1)).toBeNull();
  });

  it('forgets a spent token once its window passed (it could not start a connection anyway)', () => {
    const foreign = new TokenAdmission(tokens, 1_000);
    const spentTokens = [0, 500].map((offset) => tokens.issue(newConnectionIds(1).connectionId, ada, false, issuedAt + offset));
    for (const token of spentTokens) expect(foreign.spend(token, foreign.admit(token, issuedAt + 600)!, issuedAt + 600)).toBe(true);
    expect(foreign.size).toBe(2);
    expect(foreign.admit(spentTokens[1], issuedAt + 1_001)).toBeNull();
    expect(foreign.size).toBe(1);
    expect(foreign.admit(spentTokens[1], issuedAt + 1_501)).toBeNull();
    expect(foreign.size).toBe(0);
  });
});
