import dns from 'dns';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SignalRModule } from '../../src/index.js';
import { BroadcastModule } from '../fixtures/broadcast.controller.js';
import { EchoHub } from '../fixtures/echo.hub.js';
import { TargetsHub } from '../fixtures/targets.hub.js';
import { boundAddresses, createApp, PLATFORM } from '../support/app.js';
import { connect, stopAll } from '../support/client.js';

type LookupCallback = (error: Error | null, address: unknown, family?: number) => void;

/**
 * Listens on 'localhost' (Fastify's default host, so what `app.listen(port)` does there) while
 * 'localhost' resolves to 127.0.0.1 and ::1, as on most machines; this one lists only 127.0.0.1.
 */
async function listenOnLocalhost(app: INestApplication): Promise<void> {
  const lookup = dns.lookup;
  const both = [
    { address: '127.0.0.1', family: 4 },
    { address: '::1', family: 6 },
  ];
  const spy = jest.spyOn(dns, 'lookup').mockImplementation((host: string, options: unknown, callback?: LookupCallback) => {
    const done = (typeof options === 'function' ? options : callback) as LookupCallback;
    if (host !== 'localhost') return (lookup as (...args: unknown[]) => void)(host, options, callback);
    if (typeof options === 'object' && options !== null && (options as { all?: boolean }).all) process.nextTick(done, null, both);
    else process.nextTick(done, null, both[0].address, both[0].family);
  });
  try {
    await app.listen(0, 'localhost');
  } finally {
    spy.mockRestore();
  }
}

describe(`on ${PLATFORM}`, () => {
  afterEach(() => stopAll());

  it('serves hubs and the app alike on every address it binds for localhost', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SignalRModule.forRoot(), BroadcastModule],
      providers: [EchoHub, TargetsHub],
    }).compile();
    const app = createApp(moduleRef);
    try {
      await listenOnLocalhost(app);
      const addresses = boundAddresses(app);
      // Fastify binds both addresses, ::1 on a server of its own; Express binds the first one only.
      expect(addresses.map((address) => address.address).sort()).toEqual(PLATFORM === 'fastify' ? ['127.0.0.1', '::1'] : ['127.0.0.1']);
      for (const { address, family, port } of addresses) {
        const base = `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
        const negotiate = await fetch(`${base}/hubs/echo/negotiate?negotiateVersion=1`, { method: 'POST' });
        expect([address, negotiate.status]).toEqual([address, 200]);
        const client = await connect(`${base}/hubs/echo`);
        await expect(client.invoke('Echo', address)).resolves.toBe(address);
        const hello = await fetch(`${base}/broadcast/hello`);
        expect([address, hello.status, await hello.json()]).toEqual([address, 200, { hello: 'world' }]);
      }
    } finally {
      await stopAll();
      await app.close();
    }
  });
});
