import { Controller, Get, Header, Param, Res } from '@nestjs/common';
import type { ServerResponse } from 'http';
import { JwtService } from '@nestjs/jwt';
import { HubContext, HubException, InjectHubContext } from '../../src/index.js';
import { TestHub, TestHubNoWebSockets } from './test.hub.js';

/** The name .NET's IOException carries: a connection this instance does not know. */
const UNKNOWN_CONNECTION = 'IOException';

/** The app's plain HTTP endpoints: tokens for /authorizedhub and client results from outside a hub. */
@Controller()
export class EndpointsController {
  constructor(
    private readonly jwt: JwtService,
    @InjectHubContext(TestHub) private readonly testHub: HubContext<TestHub>,
    @InjectHubContext(TestHubNoWebSockets) private readonly noWebSocketsHub: HubContext<TestHubNoWebSockets>,
  ) {}

  /** A JWT for user `testuser` (the NameIdentifier claim, `nameid` in a JWT), valid for 5 seconds. */
  @Get('generateJwtToken')
  @Header('Content-Type', 'text/plain')
  generateJwtToken(): Promise<string> {
    return this.jwt.signAsync({ nameid: 'testuser' }, { expiresIn: 5, issuer: 'SignalRTestServer', audience: 'SignalRTests' });
  }

  /**
   * Asks the connection for its `Result` (an int) and answers with it, or with the error's message.
   * Both TestHub paths are one hub in ASP.NET Core; here they are two hub classes, asked in turn.
   *
   * Like ASP.NET Core's endpoint (`InvokeAsync` without a cancellation token), there is no time
   * limit: the answer comes when the client answers, fails, or its connection closes
   * ("Connection '…' disconnected."). A caller that gives up first cancels the call, so a client that
   * never answers holds nothing for nobody.
   */
  @Get('clientresult/:connectionId')
  @Header('Content-Type', 'text/plain')
  async clientResult(@Param('connectionId') connectionId: string, @Res({ passthrough: true }) reply: { raw?: ServerResponse }): Promise<string> {
    // Express hands the ServerResponse itself, Fastify its reply with the ServerResponse as `raw`.
    const res = reply.raw ?? (reply as ServerResponse);
    const callerGone = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) callerGone.abort();
    };
    res.once('close', onClose);
    try {
      return String(await this.askResult(connectionId, callerGone.signal));
    } catch (error) {
      return (error as Error).message;
    } finally {
      res.off('close', onClose);
    }
  }

  private async askResult(connectionId: string, signal: AbortSignal): Promise<number> {
    try {
      return await this.testHub.clients.client(connectionId).invoke<number>('Result', signal);
    } catch (error) {
      if (error instanceof HubException || (error as Error).name !== UNKNOWN_CONNECTION || !(error as Error).message.endsWith('does not exist.')) throw error;
      return this.noWebSocketsHub.clients.client(connectionId).invoke<number>('Result', signal);
    }
  }
}
