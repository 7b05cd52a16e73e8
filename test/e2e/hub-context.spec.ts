import type { HubConnection } from '@microsoft/signalr';
import { getHubContextToken, HubContext, SignalRModule } from '../../src/index.js';
import { BroadcastModule } from '../fixtures/broadcast.controller.js';
import { TargetsHub } from '../fixtures/targets.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, nextCall, recordCalls, stopAll } from '../support/client.js';

describe('HubContext outside hubs', () => {
  let app: TestApp;
  let ada: HubConnection;
  let bob: HubConnection;

  const post = (path: string, body: object) =>
    fetch(app.url(path), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    app = await startApp({
      imports: [SignalRModule.forRoot({ authenticate: (request) => ({ sub: request.query.get('user') ?? 'nobody' }) }), BroadcastModule],
      providers: [TargetsHub],
    });
    ada = await connect(app.url('/hubs/targets?user=ada'));
    bob = await connect(app.url('/hubs/targets?user=bob'));
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  it('broadcasts from a controller in a module that does not import SignalRModule', async () => {
    const toAda = nextCall(ada, 'hit');
    const toBob = nextCall(bob, 'hit');
    const response = await post('/broadcast/all', { label: 'news' });
    expect(response.status).toBe(201);
    expect(await toAda).toEqual(['news']);
    expect(await toBob).toEqual(['news']);
  });

  it('targets a user from a controller', async () => {
    const adaHits = recordCalls(ada, 'hit');
    const bobHits = recordCalls(bob, 'hit');
    // Listening before the POSTs: a send can reach the client before the POST's own response does.
    const barrier = Promise.all([waitFor(ada, 'barrier'), waitFor(bob, 'barrier')]);
    await post('/broadcast/user', { user: 'bob', label: 'for-bob' });
    await post('/broadcast/all', { label: 'barrier' });
    await barrier;
    expect(adaHits.map(([label]) => label)).toEqual(['barrier']);
    expect(bobHits.map(([label]) => label)).toEqual(['for-bob', 'barrier']);
  });

  it('manages groups from a controller', async () => {
    const adaId = await ada.invoke('WhoAmI');
    const adaHits = recordCalls(ada, 'hit');
    const barrier = waitFor(ada, 'barrier-2');
    await post('/broadcast/group', { connectionId: adaId, group: 'vip', label: 'vip-only' });
    await post('/broadcast/all', { label: 'barrier-2' });
    await barrier;
    expect(adaHits.map(([label]) => label)).toEqual(['vip-only', 'barrier-2']);
  });

  it('is the same object wherever it is injected, and reachable by token', () => {
    const context = app.app.get<HubContext<TargetsHub>>(getHubContextToken(TargetsHub));
    expect(context).toBeInstanceOf(HubContext);
    expect(app.app.get(getHubContextToken(TargetsHub))).toBe(context);
    expect(Object.keys(context.clients)).not.toContain('caller');
  });
});

function waitFor(client: HubConnection, label: string): Promise<void> {
  return new Promise((resolve) => {
    const handler = (value: string) => {
      if (value === label) {
        client.off('hit', handler);
        resolve();
      }
    };
    client.on('hit', handler);
  });
}
