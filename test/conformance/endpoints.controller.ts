import { Controller, Get, Header, Param } from '@nestjs/common';
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
   */
  @Get('clientresult/:connectionId')
  @Header('Content-Type', 'text/plain')
  async clientResult(@Param('connectionId') connectionId: string): Promise<string> {
    try {
      return String(await this.askResult(connectionId));
    } catch (error) {
      return (error as Error).message;
    }
  }

  private async askResult(connectionId: string): Promise<number> {
    try {
      return await this.testHub.clients.client(connectionId).invoke<number>('Result');
    } catch (error) {
      if (error instanceof HubException || (error as Error).name !== UNKNOWN_CONNECTION || !(error as Error).message.endsWith('does not exist.')) throw error;
      return this.noWebSocketsHub.clients.client(connectionId).invoke<number>('Result');
    }
  }
}
