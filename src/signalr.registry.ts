import { Inject, Injectable, Optional, Type } from '@nestjs/common';
import { GroupManager } from './clients/group-manager.js';
import { HubContext } from './clients/hub-context.js';
import type { SignalRModuleOptions } from './interfaces/signalr-options.interface.js';
import { DefaultHubLifetimeManager } from './lifetime/default-hub-lifetime-manager.js';
import type { HubLifetimeManager } from './lifetime/hub-lifetime-manager.js';
import type { HubProtocol } from './protocol/hub-protocol.js';
import { JsonHubProtocol } from './protocol/json-hub-protocol.js';
import { MessagePackHubProtocol } from './protocol/messagepack-hub-protocol.js';
import { SIGNALR_MODULE_OPTIONS } from './signalr.module-definition.js';
import { hubTelemetry, observeLifetime } from './observability/hub-telemetry.js';

interface HubState {
  lifetime: HubLifetimeManager;
  groups: GroupManager;
  context: HubContext | null;
}

/**
 * One lifetime manager per hub class, shared by the hub's connections and every HubContext of it:
 * the backplane's when the module has one, in memory otherwise.
 */
@Injectable()
export class SignalRHubRegistry {
  private readonly hubs = new Map<Type<unknown>, HubState>();
  /** The protocol instances every connection writes with; a backplane prepares bytes for the same ones. */
  readonly protocols: ReadonlyMap<string, HubProtocol> = new Map<string, HubProtocol>([
    ['json', new JsonHubProtocol()],
    ['messagepack', new MessagePackHubProtocol()],
  ]);

  constructor(@Optional() @Inject(SIGNALR_MODULE_OPTIONS) private readonly options: SignalRModuleOptions | null = null) {}

  lifetimeFor(hub: Type<unknown>): HubLifetimeManager {
    return this.state(hub).lifetime;
  }

  groupsFor(hub: Type<unknown>): GroupManager {
    return this.state(hub).groups;
  }

  contextFor<THub>(hub: Type<THub>): HubContext<THub> {
    const state = this.state(hub);
    return (state.context ??= new HubContext(state.lifetime)) as HubContext<THub>;
  }

  /** Hub classes that a HubContext was made for. */
  contextHubs(): Type<unknown>[] {
    return [...this.hubs].filter(([, state]) => state.context !== null).map(([hub]) => hub);
  }

  /** On shutdown, after every connection closed: each manager lets go, then the backplane's connections close. */
  async close(): Promise<void> {
    const states = [...this.hubs.values()];
    await Promise.all(states.map((state) => state.lifetime.close().catch(() => undefined)));
    for (const state of states) hubTelemetry.unwatch(state.lifetime);
    await this.options?.backplane?.close();
  }

  private state(hub: Type<unknown>): HubState {
    let state = this.hubs.get(hub);
    if (state === undefined) {
      const backplane = this.options?.backplane;
      const lifetime = backplane ? backplane.createLifetimeManager(hub, this.protocols) : new DefaultHubLifetimeManager();
      observeLifetime(hub.name, lifetime);
      state = { lifetime, groups: new GroupManager(lifetime), context: null };
      this.hubs.set(hub, state);
    }
    return state;
  }
}
