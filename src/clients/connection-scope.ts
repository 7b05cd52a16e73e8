import type { HubConnection } from '../connection/hub-connection.js';
import { HubCallerContext } from '../hub/hub-caller-context.js';
import type { CallerScope } from '../hub/hub-call-scope.js';
import type { HubLifetimeManager } from '../lifetime/hub-lifetime-manager.js';
import type { GroupManager } from './group-manager.js';
import { HubCallerClients } from './hub-clients.js';

/**
 * What a hub method sees of its caller (who it is, whom it can reach, and the hub's groups): the
 * scope of one connection, made once when it connects and reused by every call. It lives as long as
 * the connection, so its context and clients are made on first use (an idle connection whose hub
 * never reads them pays for neither).
 */
export class ConnectionScope implements CallerScope {
  private callerContext: HubCallerContext | null = null;
  private callerClients: HubCallerClients | null = null;

  constructor(
    private readonly connection: HubConnection,
    private readonly lifetime: HubLifetimeManager,
    readonly groups: GroupManager,
  ) {}

  get context(): HubCallerContext {
    return (this.callerContext ??= new HubCallerContext(this.connection));
  }

  get clients(): HubCallerClients {
    const connection = this.connection;
    // Client results wait for a Completion, which onConnected must not hold up (as in ASP.NET Core).
    return (this.callerClients ??= new HubCallerClients(this.lifetime, connection.connectionId, () => connection.hubConnected));
  }
}
