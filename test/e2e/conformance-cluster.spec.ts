import type { HubConnection } from '@microsoft/signalr';
import { JSON_VARIANTS, startConformanceApp, startedClient, stopClients, VARIANTS } from '../conformance/official-client.js';
import type { TestApp } from '../support/app.js';
import { waitUntil } from '../support/wait.js';

/** Every call of client method `method` on `connection`, in order. */
function record(connection: HubConnection, method: string): unknown[][] {
  const calls: unknown[][] = [];
  connection.on(method, (...args: unknown[]) => calls.push(args));
  return calls;
}

/**
 * The conformance app's `/clusterhub` (beyond the ASP.NET Core app, for cluster and load checks)
 * with the official client on every transport and protocol: each method, what every party
 * receives, and a burst that arrives whole and in order.
 */
describe('Conformance app: /clusterhub', () => {
  let app: TestApp;
  let observer: HubConnection;
  let observed: { broadcasts: unknown[][]; bursts: unknown[][] };

  beforeAll(async () => {
    app = await startConformanceApp();
    // A second party on another transport and protocol sees what "every connection" gets.
    observer = await startedClient(app.url('/clusterhub'), VARIANTS[3]);
    observed = { broadcasts: record(observer, 'Broadcast'), bursts: record(observer, 'Burst') };
  });
  afterAll(async () => {
    await stopClients();
    await app.close();
  });

  describe.each(VARIANTS)('$name', (variant) => {
    let connection: HubConnection;
    let calls: Record<'Broadcast' | 'GroupMessage' | 'Direct' | 'Burst', unknown[][]>;

    beforeAll(async () => {
      connection = await startedClient(app.url('/clusterhub'), variant);
      calls = {
        Broadcast: record(connection, 'Broadcast'),
        GroupMessage: record(connection, 'GroupMessage'),
        Direct: record(connection, 'Direct'),
        Burst: record(connection, 'Burst'),
      };
    });

    it('GetConnectionId returns the caller’s id', async () => {
      expect(await connection.invoke('GetConnectionId')).toBe(connection.connectionId);
    });

    it('Broadcast reaches every connection, the caller included', async () => {
      const text = `all from ${variant.name}`;
      expect(await connection.invoke('Broadcast', text)).toBeNull();
      await waitUntil(() => calls.Broadcast.length === 1 && observed.broadcasts.some(([message]) => message === text));
      expect(calls.Broadcast.splice(0)).toEqual([[text]]);
    });

    it('JoinGroup, SendToGroup and LeaveGroup: members get GroupMessage(name, message), others nothing', async () => {
      const group = `g-${variant.name}`;
      const outsider = record(observer, 'GroupMessage');
      await connection.invoke('JoinGroup', group);
      await observer.invoke('SendToGroup', group, 'one');
      await waitUntil(() => calls.GroupMessage.length === 1);
      await connection.invoke('LeaveGroup', group);
      await observer.invoke('SendToGroup', group, 'two');
      // A message sent after it on the same connection proves the second group message never came.
      await observer.invoke('SendToConnection', connection.connectionId, 'barrier');
      await waitUntil(() => calls.Direct.length === 1);
      expect(calls.GroupMessage.splice(0)).toEqual([[group, 'one']]);
      expect(calls.Direct.splice(0)).toEqual([['barrier']]);
      expect(outsider).toEqual([]);
      observer.off('GroupMessage');
    });

    it('SendToConnection reaches that connection only, as Direct(message)', async () => {
      const directToObserver = record(observer, 'Direct');
      await observer.invoke('SendToConnection', connection.connectionId, `to ${variant.name}`);
      await waitUntil(() => calls.Direct.length === 1);
      expect(calls.Direct.splice(0)).toEqual([[`to ${variant.name}`]]);
      expect(directToObserver).toEqual([]);
      observer.off('Direct');
    });

    it('Burst(count, size) sends Burst(i, payload) to every connection, all before its completion, in order', async () => {
      observed.bursts.length = 0;
      const count = 2_500;
      expect(await connection.invoke('Burst', count, 64)).toBeNull();
      // The caller's own messages precede the completion on its connection.
      expect(calls.Burst.length).toBe(count);
      await waitUntil(() => observed.bursts.length === count);
      const payload = 'x'.repeat(64);
      for (const received of [calls.Burst.splice(0), observed.bursts.splice(0)]) {
        expect(received.every(([index, text], position) => index === position && text === payload)).toBe(true);
      }
    });
  });

  it('a Burst larger than the default 1 MiB send buffer reaches a healthy client whole', async () => {
    const connection = await startedClient(app.url('/clusterhub'), JSON_VARIANTS[0]);
    const bursts = record(connection, 'Burst');
    observed.bursts.length = 0;
    await connection.invoke('Burst', 3_000, 1_000);
    expect(bursts.length).toBe(3_000);
    await waitUntil(() => observed.bursts.length === 3_000);
    expect(bursts.at(-1)).toEqual([2_999, 'x'.repeat(1_000)]);
  });
});
