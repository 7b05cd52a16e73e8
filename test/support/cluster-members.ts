import { HttpTransportType, HubConnection, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';

/** A client of the cluster test hub (test/fixtures/cluster.hub.ts): what it was sent, and its connection id. */
export interface ClusterMember {
  connection: HubConnection;
  id: string;
  hits: string[];
}

/**
 * Connects `user` to the cluster hub of `app` (an in-process app or a child-process instance) over
 * WebSockets; records `hit` labels and answers `confirm` client results. `opened` collects the
 * connection so the test can stop it.
 */
export async function clusterMember(
  app: { url(path: string): string },
  user: string,
  opened: { add(connection: HubConnection): unknown },
): Promise<ClusterMember> {
  const connection = new HubConnectionBuilder()
    .withUrl(app.url(`/hubs/cluster?user=${user}`), { transport: HttpTransportType.WebSockets })
    .configureLogging(LogLevel.None)
    .build();
  opened.add(connection);
  const hits: string[] = [];
  connection.on('hit', (label: string) => hits.push(label));
  connection.on('confirm', (text: string) => `yes:${text}`);
  await connection.start();
  return { connection, hits, id: await connection.invoke<string>('WhoAmI') };
}

/**
 * Sends `label-<n>` to all from `from` until `to` received one of them: what is sent before a
 * backplane has healed may be lost (at-most-once), so delivery is awaited by resending.
 */
export async function untilDelivered(from: HubConnection, to: string[], label: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; !to.some((hit) => hit.startsWith(`${label}-`)); attempt++) {
    if (Date.now() > deadline) throw new Error(`'${label}' never arrived`);
    await from.invoke('All', `${label}-${attempt}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
