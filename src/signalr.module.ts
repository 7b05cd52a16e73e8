import { DynamicModule, Module, Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ConnectionHandlerExplorer } from './connection-handlers/connection-handler-explorer.js';
import { knownHubClasses } from './decorators/hub-classes.js';
import { getHubContextToken } from './decorators/inject-hub-context.decorator.js';
import { HubExplorer } from './hub/hub-explorer.js';
import { HubInvokerFactory } from './hub/hub-invoker.factory.js';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, OPTIONS_TYPE } from './signalr.module-definition.js';
import { SignalRHubRegistry } from './signalr.registry.js';
import { SignalRServer } from './signalr.server.js';
import { SignalRStatistics } from './signalr.statistics.js';

/**
 * Adds hubs to more dynamic module metadata: one HubContext provider per hub class. The lists are
 * getters so they are read when Nest scans the module, after every hub class file was loaded,
 * rather than when `forRoot()` is called.
 */
function withHubContexts(module: DynamicModule): DynamicModule {
  const baseProviders = module.providers ?? [];
  const baseExports = module.exports ?? [];
  const contextProviders = (): Provider[] =>
    knownHubClasses().map((hub) => ({
      provide: getHubContextToken(hub),
      useFactory: (registry: SignalRHubRegistry) => registry.contextFor(hub),
      inject: [SignalRHubRegistry],
    }));
  return Object.defineProperties(
    { ...module },
    {
      providers: { enumerable: true, get: () => [...baseProviders, ...contextProviders()] },
      exports: { enumerable: true, get: () => [...baseExports, SignalRHubRegistry, SignalRStatistics, ...knownHubClasses().map(getHubContextToken)] },
    },
  );
}

/**
 * The SignalR server module. Import it once (it is global by default); mark hub classes with
 * `@Hub()` and list them as providers anywhere in the app.
 *
 * @example
 * @Module({
 *   imports: [SignalRModule.forRoot({ keepAliveInterval: 15_000 })],
 *   providers: [ChatHub],
 * })
 * export class AppModule {}
 */
@Module({
  imports: [DiscoveryModule],
  providers: [HubExplorer, ConnectionHandlerExplorer, HubInvokerFactory, SignalRHubRegistry, SignalRServer, SignalRStatistics],
  exports: [SignalRHubRegistry, SignalRStatistics],
})
export class SignalRModule extends ConfigurableModuleClass {
  /** Registers the module with options; every option has ASP.NET Core's default. */
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return withHubContexts(super.forRoot(options));
  }

  /**
   * Registers the module with options from a factory, class or existing provider.
   *
   * @example
   * SignalRModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ enableDetailedErrors: config.get('DEBUG') === '1' }),
   * })
   */
  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withHubContexts(super.forRootAsync(options));
  }
}
