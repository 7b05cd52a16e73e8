import { Body, Controller, Module, Post } from '@nestjs/common';
import { Hub, HubContext, InjectHubContext, SignalRModule } from 'nestjs-signalr';

/** What the chat's clients handle. */
export interface ChatClient {
  receiveMessage(user: string, text: string): void;
}

@Hub('/hubs/chat')
export class ChatHub extends Hub<ChatClient> {
  /** A result for the caller and a broadcast to everyone. */
  async sendMessage(user: string, text: string): Promise<string> {
    await this.clients.all.receiveMessage(user, text);
    return `${user} said ${text.length} characters`;
  }
}

/** Sends through `HubContext`: the injection token must be the module's own, in ESM as in CommonJS. */
@Controller('announcements')
export class AnnouncementsController {
  constructor(@InjectHubContext(ChatHub) private readonly chat: HubContext<ChatHub>) {}

  @Post()
  announce(@Body('text') text: string): Promise<void> {
    return this.chat.clients.all.receiveMessage('server', text);
  }
}

@Module({ imports: [SignalRModule.forRoot()], providers: [ChatHub], controllers: [AnnouncementsController] })
export class AppModule {}
