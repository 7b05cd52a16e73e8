import { Injectable, Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { HUB_METADATA, HUB_METHOD_NAME_METADATA } from '../signalr.constants.js';
import { LogTexts } from '../signalr.messages.js';
import type { HubMetadata } from '../decorators/hub.decorator.js';
import type { HubDescriptor, HubMethodDescriptor } from './hub-descriptor.js';
import { bindHubParameters } from './hub-params.js';

/** Members that are hooks, not hub methods. */
const NOT_HUB_METHODS = new Set([
  'onConnected',
  'onDisconnected',
  'onModuleInit',
  'onModuleDestroy',
  'onApplicationBootstrap',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

/** Normalizes a hub path: one leading slash, no trailing slash. */
export function normalizeHubPath(path: string): string {
  const trimmed = path.trim().replace(/^\/+|\/+$/g, '');
  return `/${trimmed}`;
}

/**
 * Finds `@Hub()` providers and describes them: route, options and a case-insensitive method table.
 * Duplicate paths and duplicate method names stop the bootstrap with a clear error.
 */
@Injectable()
export class HubExplorer {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  explore(): HubDescriptor[] {
    const hubs: HubDescriptor[] = [];
    const byPath = new Map<string, HubDescriptor>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as object | undefined;
      // useFactory/useValue providers carry no metatype of their own: read the instance's class.
      const metatype = (wrapper.metatype && !wrapper.inject ? wrapper.metatype : instance?.constructor) as Type<unknown> | undefined;
      if (!metatype) continue;
      const metadata = this.reflector.get<HubMetadata | undefined>(HUB_METADATA, metatype);
      if (!metadata) continue;
      // A scoped dependency makes the hub scoped too (no singleton instance): say so instead of skipping it.
      if (!instance || !wrapper.isDependencyTreeStatic()) throw new Error(LogTexts.scopedHub(metatype.name));
      const path = normalizeHubPath(metadata.path);
      const key = path.toLowerCase();
      const previous = byPath.get(key);
      if (previous) {
        if (previous.instance === instance) continue; // the same provider exported through several modules
        throw new Error(LogTexts.duplicateHubPath(path, previous.name, metatype.name));
      }
      const hub: HubDescriptor = {
        name: metatype.name,
        moduleKey: wrapper.host?.token,
        path,
        options: metadata.options,
        metatype,
        instance,
        methods: this.describeMethods(metatype, instance),
      };
      byPath.set(key, hub);
      hubs.push(hub);
    }
    return hubs;
  }

  private describeMethods(metatype: Type<unknown>, instance: object): Map<string, HubMethodDescriptor> {
    const hubName = metatype.name;
    const methods = new Map<string, HubMethodDescriptor>();
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      if (NOT_HUB_METHODS.has(methodName) || methodName.startsWith('_')) continue;
      const handler = prototype[methodName] as (...args: unknown[]) => unknown;
      const name = this.reflector.get<string | undefined>(HUB_METHOD_NAME_METADATA, handler) ?? methodName;
      const key = name.toLowerCase();
      if (methods.has(key)) throw new Error(LogTexts.duplicateHubMethod(hubName, name));
      const { parameterCount, decorated } = bindHubParameters(metatype, prototype, methodName, handler);
      methods.set(key, { name, methodName, handler, parameterCount, decorated });
    }
    return methods;
  }
}
