import { Injectable, Type } from '@nestjs/common';
import { GroupManager } from './clients/group-manager.js';
import { HubContext } from './clients/hub-context.js';
import { DefaultHubLifetimeManager } from './lifetime/default-hub-lifetime-manager.js';
import type { HubLifetimeManager } from './lifetime/hub-lifetime-manager.js';

interface HubState {
  lifetime: HubLifetimeManager;
  groups: GroupManager;
  context: HubContext | null;
}

/** One lifetime manager per hub class, shared by the hub's connections and every HubContext of it. */
@Injectable()
export class SignalRHubRegistry {
  private readonly hubs = new Map<Type<unknown>, HubState>();

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

  private state(hub: Type<unknown>): HubState {
    let state = this.hubs.get(hub);
    if (state === undefined) {
      const lifetime = new DefaultHubLifetimeManager();
      state = { lifetime, groups: new GroupManager(lifetime), context: null };
      this.hubs.set(hub, state);
    }
    return state;
  }
}
