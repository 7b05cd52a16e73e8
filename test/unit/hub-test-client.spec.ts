import { INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SignalRModule } from '../../src/index.js';
import { HubTestClient, MessageType } from '../../src/testing/index.js';
import { RoomsHub, TestUser } from '../fixtures/testing-helpers.hub.js';

/** Bearer tokens of the fake authenticator: the token is the user's id, 'bad' throws. */
@Module({
  imports: [
    SignalRModule.forRoot({
      authenticate: (request) => {
        const token = request.headers.authorization?.replace(/^Bearer /, '');
        if (token === 'bad') throw new Error('invalid token');
        return token === undefined ? undefined : ({ sub: token } satisfies TestUser);
      },
    }),
  ],
  providers: [RoomsHub],
})
class RoomsModule {}

/** The in-process client: the real connection loop, dispatcher and Nest pipeline, no socket. */
describe('HubTestClient', () => {
  let app: INestApplication;
  const open: HubTestClient[] = [];
  const connect = async (user?: TestUser, options: Parameters<typeof HubTestClient.connect>[2] = {}) => {
    const client = await HubTestClient.connect(app, RoomsHub, user === undefined ? options : { ...options, user });
    open.push(client);
    return client;
  };

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [RoomsModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((client) => client.close()));
    RoomsHub.events.length = 0;
  });
  afterAll(() => app.close());

  it('connects as the given user: onConnected has run, its sends and group joins are visible', async () => {
    const ada = await connect({ sub: 'ada' });
    expect(RoomsHub.events).toEqual(['connected ada']);
    expect(ada.received('welcome')).toEqual([['ada']]);
    expect(ada.groups).toEqual(new Set(['user:ada']));
    expect(ada.userIdentifier).toBe('ada');
    expect(await ada.invoke('whoAmI')).toEqual({ connectionId: ada.connectionId, userIdentifier: 'ada', transport: 'WebSockets', room: null });
  });

  it('runs the module authenticate on the request when no user is given', async () => {
    const bob = await connect(undefined, { request: { url: '/hubs/rooms?room=lobby', headers: { authorization: 'Bearer bob' } }, transport: 'LongPolling' });
    expect(bob.received('welcome')).toEqual([['bob']]);
    expect(await bob.invoke('whoAmI')).toEqual({ connectionId: bob.connectionId, userIdentifier: 'bob', transport: 'LongPolling', room: 'lobby' });
    await expect(HubTestClient.connect(app, RoomsHub, { request: { headers: { authorization: 'Bearer bad' } } })).rejects.toThrow(
      'authenticate refused the connection: invalid token',
    );
  });

  it('shows sends to groups, others and users, and group changes', async () => {
    const [ada, bob, grace] = [await connect({ sub: 'ada' }), await connect({ sub: 'bob' }), await connect({ sub: 'grace' })];
    await ada.invoke('join', 'lobby');
    await bob.invoke('join', 'lobby');
    expect(ada.groups).toEqual(new Set(['user:ada', 'lobby']));
    expect(await ada.invoke('say', 'lobby', 'hi')).toBe('said to lobby');
    expect(ada.received('message')).toEqual([['ada', 'hi']]);
    expect(await bob.waitFor('message')).toEqual(['ada', 'hi']);
    expect(grace.received('message')).toEqual([]);

    await bob.invoke('leave', 'lobby');
    expect(bob.groups).toEqual(new Set(['user:bob']));
    await grace.invoke('tellOthers', 'psst');
    expect(await ada.waitFor('message', 2)).toEqual(['someone', 'psst']);
    expect(await bob.waitFor('message', 2)).toEqual(['someone', 'psst']);
    expect(grace.received('message')).toEqual([]);

    await ada.invoke('whisper', 'grace', 'secret');
    expect(await grace.waitFor('whisper')).toEqual(['secret']);
    expect(bob.received('whisper')).toEqual([]);
  });

  it('rejects an invocation with the error the official client would see, guards and pipes included', async () => {
    const ada = await connect({ sub: 'ada' });
    const admin = await connect({ sub: 'root', roles: ['admin'] });
    await expect(ada.invoke('refuse', 'no way')).rejects.toThrow("An unexpected error occurred invoking 'refuse' on the server. HubException: no way");
    await expect(ada.invoke('shutdownRoom', 'lobby')).rejects.toThrow("Failed to invoke 'shutdownRoom' because user is unauthorized");
    expect(await admin.invoke('shutdownRoom', 'lobby')).toBe('closed lobby');
    await expect(ada.invoke('nope')).rejects.toThrow("Failed to invoke 'nope' due to an error on the server. HubException: Method does not exist.");
    expect(await ada.invoke('parse', '7')).toBe(7);
    await expect(ada.invoke('parse', 'seven')).rejects.toThrow("An unexpected error occurred invoking 'parse' on the server.");
    expect(await ada.invoke('double', 21)).toBe(42);
  });

  it('streams, uploads and answers client results', async () => {
    const ada = await connect({ sub: 'ada' });
    expect(await ada.stream<number>('countdown', 3).toArray()).toEqual([3, 2, 1]);

    const numbers = HubTestClient.upload<number>();
    const total = ada.invoke<number>('total', numbers);
    numbers.next(1);
    numbers.next(2);
    numbers.complete();
    expect(await total).toBe(3);

    ada.on('confirm', (question: string) => question === 'sure?');
    expect(await ada.invoke('confirm', 'sure?')).toBe(true);
    expect(await ada.invoke('confirm', 'really?')).toBe(false);
  });

  it('closes: onDisconnected has run when close() resolves; a server abort is seen as a Close', async () => {
    const ada = await connect({ sub: 'ada' });
    await ada.close();
    expect(RoomsHub.events).toEqual(['connected ada', 'disconnected ada']);
    await expect(ada.invoke('double', 1)).rejects.toThrow("Cannot invoke 'double': the connection is closed.");
    await expect(ada.stream('countdown', 1).toArray()).rejects.toThrow("Cannot stream 'countdown': the connection is closed.");

    const bob = await connect({ sub: 'bob' });
    await expect(bob.invoke('kick')).rejects.toThrow('Server closed the connection.');
    await bob.whenEnded();
    expect(bob.closed).toEqual({ type: MessageType.Close, allowReconnect: false });
    expect(bob.isOpen).toBe(false);
    expect(RoomsHub.events).toEqual(['connected ada', 'disconnected ada', 'connected bob', 'disconnected bob']);
  });
});
