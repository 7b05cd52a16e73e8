import type { HubConnection } from '../connection/hub-connection.js';
import { HubCallerContext } from '../hub/hub-caller-context.js';
import type { HubCallScope } from '../hub/hub.js';
import type { HubLifetimeManager } from '../lifetime/hub-lifetime-manager.js';
import type { GroupManager } from './group-manager.js';
import { HubCallerClients } from './hub-clients.js';

/** The caller scope of one connection, made once when it connects and reused by every call. */
export class ConnectionScope implements HubCallScope {
  readonly context: HubCallerContext;
  private callerClients: HubCallerClients | null = null;

  constructor(
    private readonly connection: HubConnection,
    private readonly lifetime: HubLifetimeManager,
    readonly groups: GroupManager,
  ) {
    this.context = new HubCallerContext(connection);
  }

  get clients(): HubCallerClients {
    return (this.callerClients ??= new HubCallerClients(this.lifetime, this.context.connectionId, this.invokeAllowed));
  }

  /** Client results wait for a Completion, which onConnected must not hold up (as in ASP.NET Core). */
  private readonly invokeAllowed = (): boolean => this.connection.hubConnected;
}
