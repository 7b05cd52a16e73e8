import { Injectable, Type } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import type { HubDescriptor } from '../hub/hub-descriptor.js';
import { normalizeHubPath } from '../hub/hub-explorer.js';
import type { SignalRModuleOptions } from '../interfaces/signalr-options.interface.js';
import { DEFAULT_HUB_OPTIONS } from '../signalr.constants.js';
import { CONNECTION_HANDLER_METADATA, type ConnectionHandlerMetadata, type OnRawConnection } from './connection-handler.decorator.js';
import type { ResolvedConnectionHandlerOptions } from './raw-connection-state.js';

/** One `@ConnectionHandler()` provider, found at bootstrap. */
export interface ConnectionHandlerDescriptor {
  name: string;
  path: string;
  instance: OnRawConnection;
  metadata: ConnectionHandlerMetadata;
}

const OPTION_KEYS = [
  'transports',
  'maximumReceiveMessageSize',
  'maximumSendBufferSize',
  'pollTimeout',
  'disconnectTimeout',
  'requireAuthentication',
  'cors',
] as const satisfies readonly (keyof ResolvedConnectionHandlerOptions)[];

/** The handler's options over the module's over ASP.NET Core's defaults. */
export function resolveConnectionHandlerOptions(moduleOptions: SignalRModuleOptions, handler: ConnectionHandlerDescriptor): ResolvedConnectionHandlerOptions {
  const resolved: Record<string, unknown> = {};
  for (const key of OPTION_KEYS) {
    const own = handler.metadata.options[key];
    resolved[key] = own !== undefined ? own : moduleOptions[key] !== undefined ? moduleOptions[key] : DEFAULT_HUB_OPTIONS[key];
  }
  return resolved as unknown as ResolvedConnectionHandlerOptions;
}

/**
 * Finds `@ConnectionHandler()` providers. A path used twice, or by a hub too, stops the bootstrap,
 * as does a handler without `onConnected`.
 */
@Injectable()
export class ConnectionHandlerExplorer {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {}

  explore(hubs: readonly HubDescriptor[]): ConnectionHandlerDescriptor[] {
    const taken = new Map<string, string>(hubs.map((hub) => [hub.path.toLowerCase(), hub.name]));
    const found: ConnectionHandlerDescriptor[] = [];
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as object | undefined;
      const metatype = (wrapper.metatype && !wrapper.inject ? wrapper.metatype : instance?.constructor) as Type<unknown> | undefined;
      if (!metatype || !instance) continue;
      const metadata = this.reflector.get<ConnectionHandlerMetadata | undefined>(CONNECTION_HANDLER_METADATA, metatype);
      if (!metadata || seen.has(instance)) continue;
      seen.add(instance);
      if (typeof (instance as Partial<OnRawConnection>).onConnected !== 'function') {
        throw new Error(`Connection handler ${metatype.name} has no onConnected(connection) method.`);
      }
      const path = normalizeHubPath(metadata.path);
      const previous = taken.get(path.toLowerCase());
      if (previous !== undefined) throw new Error(`Path '${path}' is used by both ${previous} and ${metatype.name}. Each hub and connection handler needs its own path.`);
      taken.set(path.toLowerCase(), metatype.name);
      found.push({ name: metatype.name, path, instance: instance as OnRawConnection, metadata });
    }
    return found;
  }
}
