import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../sample/app.module.js';
import { ChatHub } from '../../sample/chat/chat.hub.js';
import { NotificationHub, ORDERS_TOPIC } from '../../sample/notifications/notification.hub.js';
import type { TransportName } from '../../src/index.js';
import { HubTestClient, HubTestServer } from '../../src/testing/index.js';
import { createApp } from '../support/app.js';
import { nextCall } from '../support/client.js';
import { sampleLogin, samplePost } from '../support/sample.js';

const ADMIN = { sub: 'ada', roles: ['admin'] };
const USER = { sub: 'bob', roles: ['user'] };

/**
 * The sample app tested the way its users would test their own hubs, with `nestjs-signalr/testing`:
 * official clients over real sockets from HubTestServer, and in-process HubTestClients for the
 * hub logic (users, roles, validation, groups) without a socket.
 */
describe('sample app through nestjs-signalr/testing', () => {
  let server: HubTestServer;
  const inProcess: HubTestClient[] = [];
  const connectInProcess = async (...args: Parameters<typeof HubTestClient.connect>) => {
    const client = await HubTestClient.connect(...args);
    inProcess.push(client);
    return client;
  };

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    // This run's platform (Express or Fastify): HubTestServer takes an app as well as a module.
    server = await HubTestServer.start(createApp(moduleRef));
  });
  afterEach(() => Promise.all(inProcess.splice(0).map((client) => client.close())));
  afterAll(() => server.close());

  // Server-Sent Events carry text only: MessagePack goes over the other two.
  const matrix: Array<[TransportName, 'json' | 'messagepack']> = [
    ['WebSockets', 'json'],
    ['WebSockets', 'messagepack'],
    ['ServerSentEvents', 'json'],
    ['LongPolling', 'json'],
    ['LongPolling', 'messagepack'],
  ];

  it.each(matrix)('chat with official clients over %s / %s', async (transport, protocol) => {
    const token = await sampleLogin(server, 'grace');
    const options = { transport, protocol: protocol === 'messagepack' ? new MessagePackHubProtocol() : undefined };
    const grace = await server.connect(ChatHub, { ...options, accessToken: token });
    const anonymous = await server.connect('/hubs/chat', options);
    const received = [grace, anonymous].map((connection) => nextCall(connection, 'message'));
    await anonymous.invoke('SendMessage', 'hi');
    expect(await Promise.all(received)).toEqual([
      ['anonymous', 'hi'],
      ['anonymous', 'hi'],
    ]);
    await Promise.all([grace.stop(), anonymous.stop()]);
  });

  it('an in-process user and an official client share the chat', async () => {
    const official = await server.connect(ChatHub);
    const joined = nextCall(official, 'userConnected');
    const ada = await connectInProcess(server.app, ChatHub, { user: ADMIN });
    expect(await joined).toEqual(['ada']);

    const message = nextCall(official, 'message');
    await ada.invoke('sendMessage', '  hello  ');
    expect(await message).toEqual(['ada', 'hello']);
    expect(ada.received('message')).toEqual([['ada', 'hello']]);
    await official.stop();
  });

  it('rooms: group membership and who hears what', async () => {
    const ada = await connectInProcess(server.app, ChatHub, { user: ADMIN });
    const bob = await connectInProcess(server.app, ChatHub, { user: USER });
    await ada.invoke('joinRoom', 'lobby');
    await bob.invoke('joinRoom', 'lobby');
    expect(ada.groups).toEqual(new Set(['lobby']));
    expect(await ada.waitFor('userJoined')).toEqual(['lobby', 'bob']);
    expect(bob.received('userJoined')).toEqual([]);

    await bob.invoke('sendToRoom', 'lobby', 'hi');
    expect(await ada.waitFor('roomMessage')).toEqual(['lobby', 'bob', 'hi']);
    await bob.invoke('leaveRoom', 'lobby');
    expect(bob.groups).toEqual(new Set());
    await expect(bob.invoke('sendToRoom', 'lobby', 'again')).rejects.toThrow(
      "An unexpected error occurred invoking 'sendToRoom' on the server. HubException: You are not in room 'lobby'.",
    );
  });

  it('admin broadcast: the roles guard and the validation pipe run as for a real client', async () => {
    const ada = await connectInProcess(server.app, ChatHub, { user: ADMIN });
    const bob = await connectInProcess(server.app, ChatHub, { user: USER });
    await expect(bob.invoke('adminBroadcast', { text: 'hi', level: 'info' })).rejects.toThrow("Failed to invoke 'adminBroadcast' because user is unauthorized");
    await expect(ada.invoke('adminBroadcast', { text: 'hi', level: 'loud' })).rejects.toThrow(
      "An unexpected error occurred invoking 'adminBroadcast' on the server. HubException: level must be one of the following values: info, warning",
    );
    await ada.invoke('adminBroadcast', { text: 'maintenance at noon', level: 'warning' });
    expect(await bob.waitFor('announcement')).toEqual(['maintenance at noon', 'warning', 'ada']);
  });

  it('notifications: a signed-in user subscribed to orders hears of a shipment made over REST', async () => {
    await expect(connectInProcess(server.app, NotificationHub)).rejects.toThrow('NotificationHub requires authentication and authenticate found no user.');
    const token = await sampleLogin(server, 'bob');
    // Through the sample's own authenticator (jwtAuthenticator), with the token a login gave.
    const bob = await connectInProcess(server.app, NotificationHub, { request: { headers: { authorization: `Bearer ${token}` } } });
    await bob.invoke('subscribe', ORDERS_TOPIC);
    expect(bob.groups).toEqual(new Set([ORDERS_TOPIC]));
    const order = (await (await samplePost(server, '/orders', { customer: 'bob', item: 'tea' }, token)).json()) as { id: string };
    const admin = await sampleLogin(server, 'ada');
    expect((await samplePost(server, `/orders/${order.id}/ship`, undefined, admin)).status).toBe(200);
    const [shipped] = await bob.waitFor('orderShipped');
    expect(shipped).toMatchObject({ id: order.id, customer: 'bob', item: 'tea', status: 'shipped' });
  });
});
