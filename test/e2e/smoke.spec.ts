import { SignalRModule } from '../../src/index.js';
import { EchoHub } from '../fixtures/echo.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, stopAll } from '../support/client.js';

describe('smoke', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [EchoHub] });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  it('echoes through the official client', async () => {
    const client = await connect(app.url('/hubs/echo'));
    await expect(client.invoke('Echo', 'hi')).resolves.toBe('hi');
  });
});
