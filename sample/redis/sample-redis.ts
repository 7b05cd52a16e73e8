import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';

/**
 * The sample's own Redis connection, for the data the instances of a cluster share (orders, who is
 * connected where): with REDIS_URL set, as `npm run start:cluster` sets it; none without. The
 * SignalR backplane keeps its own connections.
 */
@Injectable()
export class SampleRedis implements OnApplicationShutdown {
  readonly client: Redis | null;
  private readonly logger = new Logger('SampleRedis');
  private lastError = '';

  constructor() {
    const url = process.env.REDIS_URL;
    this.client = url ? new Redis(url) : null;
    // ioredis reconnects by itself; say so once per kind of failure instead of on every attempt.
    this.client?.on('error', (error: Error) => {
      if (error.message === this.lastError) return;
      this.lastError = error.message;
      this.logger.warn(`Redis: ${error.message}`);
    });
    this.client?.on('ready', () => (this.lastError = ''));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.quit().catch(() => this.client?.disconnect());
  }
}
