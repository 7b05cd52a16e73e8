import { IStreamResult } from '@microsoft/signalr';
import { MetricsService, MetricsSnapshot } from '../../sample/dashboard/metrics.service.js';
import type { TestApp } from '../support/app.js';
import { buildClient, TRANSPORTS } from '../support/client.js';
import { useSampleApp } from '../support/sample.js';
import { eventually, waitUntil, Wakeup } from '../support/wait.js';

const CONNECTIONS_SCOPE = 'otel_scope_name="Microsoft.AspNetCore.Http.Connections"';
const OUR_SCOPE = 'otel_scope_name="nestjs-signalr"';
const TRANSPORT_LABELS = { WebSockets: 'web_sockets', ServerSentEvents: 'server_sent_events', LongPolling: 'long_polling' } as const;

/** The value of the sample at exactly `name{labels}` in a scrape, or null when the scrape has no such line. */
function valueOf(text: string, name: string, labels: string): number | null {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}} `));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** The sum of every sample of `name`, whatever its labels. */
function sumOf(text: string, name: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** Reads a stream's items as they come; `next()` resolves with the next one. */
function follow<T>(result: IStreamResult<T>) {
  const items: T[] = [];
  const arrivals = new Wakeup();
  const subscription = result.subscribe({
    next: (item) => {
      items.push(item);
      arrivals.wake();
    },
    complete: () => undefined,
    error: () => undefined,
  });
  const next = async (): Promise<T> => {
    const seen = items.length;
    while (items.length === seen) await arrivals.next();
    return items[seen];
  };
  return { next, dispose: () => subscription.dispose() };
}

/**
 * The sample's Prometheus endpoint on the app's own port, read as Prometheus reads it, and the
 * dashboard, which reads the same instruments. The connection tests run first: their counts are the
 * app's first connections of each transport.
 */
describe('sample app: GET /metrics and the dashboard', () => {
  const sample = useSampleApp();
  let app: TestApp;
  beforeAll(() => {
    app = sample.app;
  });

  const scrape = async () => {
    const response = await fetch(app.url('/metrics'));
    expect(response.status).toBe(200);
    // Prometheus's text format 0.0.4 (the platform may move the charset parameter).
    expect(response.headers.get('content-type')?.split(/;\s*/).sort()).toEqual(['charset=utf-8', 'text/plain', 'version=0.0.4']);
    return response.text();
  };

  describe.each(TRANSPORTS)('over %s', (name, transport) => {
    const labels = `signalr_transport="${TRANSPORT_LABELS[name]}",${CONNECTIONS_SCOPE}`;
    const ended = `signalr_connection_status="normal_closure",${labels}`;

    it('counts an open official-client connection, then records its duration as a normal closure', async () => {
      const chat = buildClient(app.url('/hubs/chat'), { transport });
      await chat.start();
      const open = await scrape();
      expect(open).toContain('# TYPE signalr_server_active_connections gauge');
      expect(valueOf(open, 'signalr_server_active_connections', labels)).toBe(1);
      expect(valueOf(open, 'signalr_server_connection_duration_count', ended)).toBeNull(); // nothing has ended yet

      await chat.stop();
      // The client's stop resolves before the server has seen the end on every transport.
      const after = await eventually(async () => valueOf(await scrape(), 'signalr_server_connection_duration_count', ended), 1);
      expect(after).toBe(1);
      const closed = await scrape();
      expect(closed).toContain('# TYPE signalr_server_connection_duration histogram');
      expect(valueOf(closed, 'signalr_server_active_connections', labels)).toBe(0);
      expect(valueOf(closed, 'signalr_server_connection_duration_bucket', `${ended},le="+Inf"`)).toBe(1);
      expect(valueOf(closed, 'signalr_server_connection_duration_bucket', `${ended},le="300"`)).toBe(1);
    });
  });

  it("shows ours too: the chat's invocation under its hub, method and outcome", async () => {
    const chat = buildClient(app.url('/hubs/chat'));
    await chat.start();
    await chat.invoke('SendMessage', 'hello');
    const text = await scrape();
    expect(
      valueOf(
        text,
        'signalr_server_invocation_duration_count',
        `rpc_service="ChatHub",rpc_method="sendMessage",signalr_invocation_outcome="success",${OUR_SCOPE}`,
      ),
    ).toBe(1);
    expect(text).toContain('# TYPE signalr_server_messages_received_total counter');
  });

  it("the dashboard's numbers are the scrape's", async () => {
    const metrics = app.app.get(MetricsService);
    const [chat, dashboard] = [buildClient(app.url('/hubs/chat')), buildClient(app.url('/hubs/dashboard'))];
    await Promise.all([chat.start(), dashboard.start()]);
    await waitUntil(() => metrics.connectionCount('chat') === 1 && metrics.connectionCount('dashboard') === 1);
    const stream = follow(dashboard.stream<MetricsSnapshot>('Metrics', 100));
    const first = await stream.next();
    const text = await scrape();
    expect(first.activeConnections).toBe(2);
    expect(sumOf(text, 'signalr_server_active_connections')).toBe(2);
    expect(first.connections).toEqual({ chat: 1, notifications: 0, dashboard: 1 });
    expect(sumOf(text, 'signalr_server_invocation_duration_count')).toBe(first.invocations.total);

    for (const message of ['one', 'two', 'three']) await chat.invoke('SendMessage', message);
    let later = await stream.next();
    // Updates collected while the invocations ran come first.
    while (later.invocations.total < first.invocations.total + 3) later = await stream.next();
    const scraped = await scrape(); // before disposing: the stream's own invocation counts when it ends
    stream.dispose();
    expect(later.invocations.total).toBe(first.invocations.total + 3);
    expect(sumOf(scraped, 'signalr_server_invocation_duration_count')).toBe(later.invocations.total);
  });
});
