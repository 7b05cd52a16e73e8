import { Hub } from '../../src/index.js';

/** Messages of one Burst between two yields to the event loop, so each batch leaves in one write. */
const BURST_BATCH = 1_000;

/**
 * Beyond the ASP.NET Core app: a hub for cluster and load checks (every transport, both protocols).
 * Its send buffer is larger than the default so that a Burst to a healthy client is not mistaken
 * for a slow consumer.
 */
@Hub('/clusterhub', { maximumSendBufferSize: 64 * 1024 * 1024 })
export class ClusterHub extends Hub {
  getConnectionId(): string {
    return this.context.connectionId;
  }

  broadcast(message: string): Promise<void> {
    return this.clients.all.send('Broadcast', message);
  }

  joinGroup(name: string): Promise<void> {
    return this.groups.addToGroup(this.context.connectionId, name);
  }

  leaveGroup(name: string): Promise<void> {
    return this.groups.removeFromGroup(this.context.connectionId, name);
  }

  sendToGroup(name: string, message: string): Promise<void> {
    return this.clients.group(name).send('GroupMessage', name, message);
  }

  sendToConnection(connectionId: string, message: string): Promise<void> {
    return this.clients.client(connectionId).send('Direct', message);
  }

  /** Sends `Burst(i, payload)` for i in 0..count-1 to every connection; returns once all are handed to the transports. */
  async burst(count: number, size: number): Promise<void> {
    const payload = 'x'.repeat(size);
    const all = this.clients.all;
    let sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      sends.push(all.send('Burst', i, payload));
      if (sends.length === BURST_BATCH) {
        await Promise.all(sends);
        sends = [];
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    await Promise.all(sends);
    // Writes of this tick are flushed at its end: wait for that, so the Completion follows them.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
