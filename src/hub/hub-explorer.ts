import { Injectable, Logger, Type } from '@nestjs/common';
import { ApplicationConfig, DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { PIPES_METADATA } from '../platforms/framework-internals.js';
import { HUB_METADATA, HUB_METHOD_NAME_METADATA, NOT_HUB_METHOD_METADATA } from '../signalr.constants.js';
import { LogTexts } from '../signalr.messages.js';
import type { HubDescriptor, HubMetadata, HubMethodDescriptor } from './hub-descriptor.js';
import { bindHubParameters, type HubParameterBinding } from './hub-params.js';

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

/** Public names of Nest gateway hooks, which Nest does not call on a hub: the hub's own hook for each. */
const GATEWAY_HOOKS: Record<string, string> = {
  handleConnection: 'onConnected()',
  handleDisconnect: 'onDisconnected()',
  afterInit: 'onModuleInit()',
};

/** @nestjs/websockets' key of @SubscribeMessage() (read by name: that package stays optional). */
const MESSAGE_MAPPING_METADATA = 'websockets:message_mapping';
const MESSAGE_METADATA = 'message';

/** Nest's HTTP and gateway parameter decorators by param type, and what a hub method uses instead. */
const FOREIGN_PARAMETERS: Record<number, [what: string, instead: string]> = {
  0: ['@ConnectedSocket() (or @Req())', "Use @Caller() for the caller's HubCallerContext (this.context in a Hub)."],
  3: ['@MessageBody() (or @Body())', 'Hub arguments bind by position without a decorator: remove it (pipes still see the argument).'],
  13: ['@Ack()', "Return the result instead: the client's invoke() resolves with it."],
};
const OTHER_FOREIGN_PARAMETER: [string, string] = [
  'a Nest HTTP or gateway parameter decorator',
  'Hub arguments bind by position without a decorator; @Caller(), @ConnectionId(), @HubUser(), @StreamCancellation(), @UploadStream() and createParamDecorator() decorators fill the others.',
];

/** Normalizes a hub path: one leading slash, no trailing slash. */
export function normalizeHubPath(path: string): string {
  const trimmed = path.trim().replace(/^\/+|\/+$/g, '');
  return `/${trimmed}`;
}

/** One provider of the application, with the class its metadata is read from. */
export interface DiscoveredProvider {
  readonly wrapper: ReturnType<DiscoveryService['getProviders']>[number];
  readonly metatype: Type<unknown>;
  readonly instance: object | undefined;
}

/**
 * Finds `@Hub()` providers and describes them: route, options and a case-insensitive method table.
 * Duplicate paths and duplicate method names stop the bootstrap with a clear error.
 */
@Injectable()
export class HubExplorer {
  private readonly logger = new Logger('SignalR');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly config: ApplicationConfig,
  ) {}

  /** The application's providers, walked once for hubs and connection handlers alike. */
  providers(): DiscoveredProvider[] {
    const found: DiscoveredProvider[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as object | undefined;
      // useFactory/useValue providers carry no metatype of their own: read the instance's class.
      const metatype = (wrapper.metatype && !wrapper.inject ? wrapper.metatype : instance?.constructor) as Type<unknown> | undefined;
      if (metatype) found.push({ wrapper, metatype, instance });
    }
    return found;
  }

  explore(providers: readonly DiscoveredProvider[]): HubDescriptor[] {
    const hubs: HubDescriptor[] = [];
    const byPath = new Map<string, HubDescriptor>();
    for (const { wrapper, metatype, instance } of providers) {
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
    const untyped: string[] = [];
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      if (NOT_HUB_METHODS.has(methodName) || methodName.startsWith('_')) continue;
      const handler = prototype[methodName] as (...args: unknown[]) => unknown;
      if (this.reflector.get<boolean | undefined>(NOT_HUB_METHOD_METADATA, handler) === true) continue;
      this.refuseGatewayMapping(hubName, methodName, handler);
      const hook = GATEWAY_HOOKS[methodName];
      if (hook !== undefined) this.logger.warn(LogTexts.gatewayHookName(hubName, methodName, hook));
      const name = this.reflector.get<string | undefined>(HUB_METHOD_NAME_METADATA, handler) ?? methodName;
      const key = name.toLowerCase();
      if (methods.has(key)) throw new Error(LogTexts.duplicateHubMethod(hubName, name));
      const binding = bindHubParameters(metatype, prototype, methodName, handler);
      refuseForeignParameters(hubName, methodName, binding);
      if (binding.parameterCount > 0 && !binding.typed) untyped.push(methodName);
      const { parameterCount, streamCount, decorated } = binding;
      methods.set(key, { name, methodName, handler, parameterCount, streamCount, decorated });
    }
    if (untyped.length > 0 && this.pipesApply(metatype)) this.logger.warn(LogTexts.untypedParameters(hubName, untyped));
    return methods;
  }

  /** @SubscribeMessage() would suggest a name the method does not have on the wire. */
  private refuseGatewayMapping(hubName: string, methodName: string, handler: Function): void {
    if (Reflect.getMetadata(MESSAGE_MAPPING_METADATA, handler) !== true) return;
    const message = Reflect.getMetadata(MESSAGE_METADATA, handler) as unknown;
    throw new Error(LogTexts.subscribeMessage(hubName, methodName, String(message)));
  }

  /** Whether pipes run on the hub's methods without a method decorator of their own: global or hub-wide ones. */
  private pipesApply(metatype: Type<unknown>): boolean {
    const hubPipes = Reflect.getMetadata(PIPES_METADATA, metatype) as unknown[] | undefined;
    return this.config.getGlobalPipes().length + this.config.getGlobalRequestPipes().length + (hubPipes?.length ?? 0) > 0;
  }
}

/** A Nest HTTP or gateway parameter decorator would leave its parameter undefined: say what to use. */
function refuseForeignParameters(hubName: string, methodName: string, binding: HubParameterBinding): void {
  if (binding.foreign.length === 0) return;
  const { index, type } = binding.foreign[0];
  const [what, instead] = FOREIGN_PARAMETERS[type] ?? OTHER_FOREIGN_PARAMETER;
  throw new Error(LogTexts.foreignParameter(hubName, methodName, index, what, instead));
}
