/*
 * The bystander: an official @microsoft/signalr client (WebSockets, JSON) that invokes Echo in a loop
 * for the whole run. Every invocation must be answered with its own value; latency is kept per call.
 */
import { HttpTransportType, HubConnection, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';

export interface HealthyReport {
  sent: number;
  answered: number;
  /** Calls that failed, were answered wrongly, or were cut off by the connection closing. */
  lost: number;
  p50: number;
  p99: number;
  max: number;
  /** Why the connection closed during the run, if it did. */
  closed?: string;
}

export class HealthyClient {
  private readonly connection: HubConnection;
  private readonly latencies: number[] = [];
  private sent = 0;
  private answered = 0;
  private running = true;
  private closedWith: string | undefined;
  private loop: Promise<void> = Promise.resolve();

  constructor(url: string) {
    this.connection = new HubConnectionBuilder().withUrl(url, { transport: HttpTransportType.WebSockets }).configureLogging(LogLevel.None).build();
    this.connection.onclose((error) => {
      if (this.running) this.closedWith = error?.message ?? 'closed without an error';
    });
  }

  async start(): Promise<void> {
    await this.connection.start();
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const value = this.sent++;
      const began = performance.now();
      try {
        if ((await this.connection.invoke('Echo', value)) === value) this.answered++;
      } catch {
        if (this.closedWith !== undefined) return;
      }
      this.latencies.push(performance.now() - began);
      // About 200 calls a second: steady evidence without taking a core from the fuzzer.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async stop(): Promise<HealthyReport> {
    this.running = false;
    await this.loop;
    await this.connection.stop();
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
    return {
      sent: this.sent,
      answered: this.answered,
      lost: this.sent - this.answered,
      p50: at(0.5),
      p99: at(0.99),
      max: sorted[sorted.length - 1] ?? NaN,
      closed: this.closedWith,
    };
  }
}
