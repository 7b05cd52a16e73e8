import { Hub, SignalRModule } from '../../src/index.js';
import { LifecycleHub, LifecycleJournal } from '../fixtures/lifecycle.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { buildClient, closed, connect, nextCall, stopAll } from '../support/client.js';

describe('lifecycle hooks and the caller context', () => {
  let app: TestApp;
  let detailed: TestApp;
  let journal: LifecycleJournal;

  beforeAll(async () => {
    const providers = [LifecycleHub, LifecycleJournal];
    const authenticate = (request: { query: URLSearchParams }) => {
      const name = request.query.get('name');
      return name ? { sub: `user-${name}`, name } : undefined;
    };
    app = await startApp({ imports: [SignalRModule.forRoot({ authenticate })], providers });
    detailed = await startApp({ imports: [SignalRModule.forRoot({ authenticate, enableDetailedErrors: true })], providers });
    journal = app.app.get(LifecycleJournal);
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
    await detailed.close();
  });

  it('runs onConnected before the first invocation and can send to the caller from it', async () => {
    const client = buildClient(app.url('/hubs/lifecycle?name=ada'));
    const welcome = nextCall(client, 'welcome');
    await client.start();
    const [welcomedId] = await welcome;
    expect(welcomedId).toBe(client.connectionId);
    expect(journal.events).toContain('connected ada');
    await expect(client.invoke('Describe')).resolves.toMatchObject({ joinedAs: 'ada' });
  });

  it('gives hub methods their caller: ids, user, request headers and query, transport, items', async () => {
    const client = await connect(app.url('/hubs/lifecycle?name=grace'), { headers: { 'X-Test': 'from-client' } });
    const described = await client.invoke('Describe');
    expect(described).toEqual({
      connectionId: client.connectionId,
      userIdentifier: 'user-grace',
      user: { sub: 'user-grace', name: 'grace' },
      transport: 'WebSockets',
      header: 'from-client',
      query: 'grace',
      path: '/hubs/lifecycle',
      joinedAs: 'grace',
    });
    const anonymous = await connect(app.url('/hubs/lifecycle'));
    const anonymousView = await anonymous.invoke('Describe');
    expect(anonymousView.userIdentifier).toBeNull();
    expect(anonymousView).not.toHaveProperty('user');
  });

  it('keeps items per connection across calls', async () => {
    const first = await connect(app.url('/hubs/lifecycle?name=a'));
    const second = await connect(app.url('/hubs/lifecycle?name=b'));
    expect(await first.invoke('CountCalls')).toBe(1);
    expect(await first.invoke('CountCalls')).toBe(2);
    expect(await second.invoke('CountCalls')).toBe(1);
  });

  it('runs onDisconnected with no error after a clean stop, with the items still readable', async () => {
    const client = await connect(app.url('/hubs/lifecycle?name=linus'));
    await client.stop();
    await journal.until('disconnected linus');
    const index = journal.events.indexOf('disconnected linus');
    expect(index).toBeGreaterThan(journal.events.indexOf('connected linus'));
  });

  it('abort() closes the connection without an error and fires connectionAborted', async () => {
    const client = await connect(app.url('/hubs/lifecycle?name=aborter'));
    const ended = closed(client);
    await client.send('Leave');
    await expect(ended).resolves.toBeUndefined();
    await journal.until('disconnected aborter');
    expect(journal.events).toContain('aborted signal');
  });

  // The Close follows the handshake response in the same frame, so the official client fails start() itself.
  it.each(['sync', 'async'])('closes the connection with the Close error when onConnected throws (%s)', async (mode) => {
    const client = buildClient(app.url(`/hubs/lifecycle?name=x&fail=${mode}`));
    await expect(client.start()).rejects.toThrow('Server returned an error on close: Connection closed with an error.');
    // The app is unharmed: a fresh connection works, and the failed one never reached onDisconnected.
    const healthy = await connect(app.url('/hubs/lifecycle?name=after'));
    await expect(healthy.invoke('CountCalls')).resolves.toBe(1);
    expect(journal.events.filter((event) => event === 'disconnected undefined')).toEqual([]);
  });

  it('adds the exception detail to the onConnected Close error when detailed errors are on', async () => {
    const client = buildClient(detailed.url('/hubs/lifecycle?name=x&fail=sync'));
    await expect(client.start()).rejects.toThrow('Server returned an error on close: Connection closed with an error. Error: not welcome');
  });

  it('offers this.context only while a hub call runs', () => {
    const hub = app.app.get(LifecycleHub);
    expect(() => hub.context).toThrow('Hub.context is only available while a hub method or lifecycle hook runs. Outside hubs, inject HubContext.');
    expect(hub).toBeInstanceOf(Hub);
  });
});
