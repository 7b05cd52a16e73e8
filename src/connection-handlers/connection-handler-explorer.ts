import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HubDescriptor } from '../hub/hub-descriptor.js';
import { normalizeHubPath, type DiscoveredProvider } from '../hub/hub-explorer.js';
import { CONNECTION_HANDLER_METADATA, type ConnectionHandlerMetadata, type OnRawConnection } from './connection-handler.decorator.js';

/** One `@ConnectionHandler()` provider, found at bootstrap. */
export interface ConnectionHandlerDescriptor {
  name: string;
  path: string;
  instance: OnRawConnection;
  metadata: ConnectionHandlerMetadata;
}

/**
 * Finds `@ConnectionHandler()` providers. A path used twice, or by a hub too, stops the bootstrap,
 * as does a handler without `onConnected`.
 */
@Injectable()
export class ConnectionHandlerExplorer {
  constructor(private readonly reflector: Reflector) {}

  /** `providers` are the ones HubExplorer walked for hubs: the application's providers are walked once. */
  explore(providers: readonly DiscoveredProvider[], hubs: readonly HubDescriptor[]): ConnectionHandlerDescriptor[] {
    const taken = new Map<string, string>(hubs.map((hub) => [hub.path.toLowerCase(), hub.name]));
    const found: ConnectionHandlerDescriptor[] = [];
    const seen = new Set<object>();
    for (const { metatype, instance } of providers) {
      if (!instance) continue;
      const metadata = this.reflector.get<ConnectionHandlerMetadata | undefined>(CONNECTION_HANDLER_METADATA, metatype);
      if (!metadata || seen.has(instance)) continue;
      seen.add(instance);
      if (typeof (instance as Partial<OnRawConnection>).onConnected !== 'function') {
        throw new Error(`Connection handler ${metatype.name} has no onConnected(connection) method.`);
      }
      const path = normalizeHubPath(metadata.path);
      const previous = taken.get(path.toLowerCase());
      if (previous !== undefined)
        throw new Error(`Path '${path}' is used by both ${previous} and ${metatype.name}. Each hub and connection handler needs its own path.`);
      taken.set(path.toLowerCase(), metatype.name);
      found.push({ name: metatype.name, path, instance: instance as OnRawConnection, metadata });
    }
    return found;
  }
}
