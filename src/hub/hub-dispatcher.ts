import { Logger } from '@nestjs/common';
import { isObservable, lastValueFrom } from 'rxjs';
import type { ConnectionDispatcher } from '../connection/hub-connection-handler.js';
import type { HubConnection } from '../connection/hub-connection.js';
import { HubMessage, InvocationMessage, MessageType, StreamInvocationMessage } from '../protocol/hub-messages.js';
import { InvalidDataError } from '../protocol/protocol-errors.js';
import { InvocationTexts } from '../signalr.messages.js';
import type { HubDescriptor, HubMethodDescriptor } from './hub-descriptor.js';
import { describeInvocationError } from './hub-errors.js';
import type { HubInvokerFactory } from './hub-invoker.factory.js';
import { HubCallScope, invokeInScope } from './hub.js';

type HubMethod = (...args: unknown[]) => unknown;
type Pipeline = ReturnType<HubInvokerFactory['create']>;

interface HubLifecycle {
  onConnected?: HubMethod;
  onDisconnected?: HubMethod;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Turns hub messages into calls on the hub instance and their outcomes into Completion messages,
 * as ASP.NET Core's DefaultHubDispatcher. A method that returns synchronously completes without a
 * promise.
 */
export class HubDispatcher implements ConnectionDispatcher {
  private readonly logger: Logger;

  /** Per method: its pipeline, or null when it is called directly. */
  private readonly pipelines = new Map<HubMethodDescriptor, Pipeline | null>();

  constructor(
    private readonly hub: HubDescriptor,
    private readonly createScope: (connection: HubConnection) => HubCallScope,
    private readonly invokers: HubInvokerFactory,
  ) {
    this.logger = new Logger(`SignalR:${hub.name}`);
  }

  onConnected(connection: HubConnection): void | Promise<void> {
    const scope = this.createScope(connection);
    connection.hubScope = scope;
    const hook = (this.hub.instance as HubLifecycle).onConnected;
    if (typeof hook !== 'function') return;
    const result = invokeInScope(scope, this.hub.instance, hook, []);
    if (isPromiseLike(result)) return Promise.resolve(result).then(() => undefined);
  }

  onDisconnected(connection: HubConnection, error: Error | undefined): void | Promise<void> {
    const hook = (this.hub.instance as HubLifecycle).onDisconnected;
    if (typeof hook !== 'function' || connection.hubScope === null) return;
    const result = invokeInScope(connection.hubScope as HubCallScope, this.hub.instance, hook, [error]);
    if (isPromiseLike(result)) return Promise.resolve(result).then(() => undefined);
  }

  dispatch(connection: HubConnection, message: HubMessage): void | Promise<void> {
    switch (message.type) {
      case MessageType.Invocation:
        return this.invoke(connection, message);
      case MessageType.StreamInvocation:
        return this.refuseStream(connection, message);
      default:
        // Stream items, completions and cancellations for ids this server never issued: ignored, as in .NET.
        this.logger.debug(`Ignoring message of type ${message.type} from ${connection.connectionId}.`);
        return;
    }
  }

  private invoke(connection: HubConnection, message: InvocationMessage): void | Promise<void> {
    const method = this.hub.methods.get(message.target.toLowerCase());
    if (method === undefined) {
      this.sendError(connection, message, InvocationTexts.methodNotFound(message.target));
      return;
    }
    if (message.arguments.length !== method.parameterCount) {
      const error = new InvalidDataError(InvocationTexts.argumentCount(message.arguments.length, method.parameterCount));
      this.sendError(connection, message, InvocationTexts.bindingFailed(message.target, error, connection.options.enableDetailedErrors));
      return;
    }
    const scope = connection.hubScope as HubCallScope;
    const pipeline = this.pipelineFor(method);
    if (pipeline !== null) return this.invokeThroughPipeline(connection, message, method, pipeline, scope);
    let result: unknown;
    try {
      result = invokeInScope(scope, this.hub.instance, method.handler, message.arguments);
    } catch (error) {
      this.fail(connection, message, method, error);
      return;
    }
    if (isPromiseLike(result)) {
      return Promise.resolve(result).then(
        (value) => this.complete(connection, message, value),
        (error) => this.fail(connection, message, method, error),
      );
    }
    this.complete(connection, message, result);
  }

  /** Guards, interceptors and pipes run inside the caller's scope; errors go to the method's filters first. */
  private invokeThroughPipeline(
    connection: HubConnection,
    message: InvocationMessage,
    method: HubMethodDescriptor,
    pipeline: Pipeline,
    scope: HubCallScope,
  ): Promise<void> {
    const args = [scope.context, message.arguments, method.name];
    return Promise.resolve(invokeInScope(scope, this.hub.instance, pipeline.invoke as HubMethod, args)).then(
      (value) => this.complete(connection, message, value),
      (error) => this.filterError(error, pipeline, args).then(
        (value) => this.complete(connection, message, value),
        (unhandled) => this.fail(connection, message, method, unhandled),
      ),
    );
  }

  /** An exception filter may return a result for the client, or throw (a HubException) to shape the error. */
  private async filterError(error: unknown, pipeline: Pipeline, args: unknown[]): Promise<unknown> {
    const { handled, value } = this.invokers.applyFilters(pipeline.filters, error, args);
    if (!handled) throw error;
    return isObservable(value) ? lastValueFrom(value) : value;
  }

  private pipelineFor(method: HubMethodDescriptor): Pipeline | null {
    let pipeline = this.pipelines.get(method);
    if (pipeline === undefined) {
      pipeline = this.invokers.needsPipeline(this.hub, method) ? this.invokers.create(this.hub, method) : null;
      this.pipelines.set(method, pipeline);
    }
    return pipeline;
  }

  /** No hub method streams yet, so every StreamInvocation targets a non-streaming method or none. */
  private refuseStream(connection: HubConnection, message: StreamInvocationMessage): void {
    const method = this.hub.methods.get(message.target.toLowerCase());
    const error = method === undefined
      ? InvocationTexts.methodNotFound(message.target)
      : InvocationTexts.nonStreamingWithStream(message.target);
    this.sendError(connection, message, error);
  }

  private complete(connection: HubConnection, message: InvocationMessage, value: unknown): void {
    if (message.invocationId === undefined) return;
    connection.write({ type: MessageType.Completion, invocationId: message.invocationId, result: value === undefined ? null : value });
  }

  private fail(connection: HubConnection, message: InvocationMessage, method: HubMethodDescriptor, error: unknown): void {
    const { text, expected } = describeInvocationError(message.target, error, connection.options.enableDetailedErrors);
    if (!expected) {
      this.logger.error(`Failed to invoke hub method '${method.name}'.`, error instanceof Error ? error.stack : String(error));
    }
    this.sendError(connection, message, text);
  }

  /** Non-blocking invocations get nothing back, not even an error (as in .NET). */
  private sendError(connection: HubConnection, message: InvocationMessage | StreamInvocationMessage, error: string): void {
    if (message.invocationId === undefined) return;
    connection.write({ type: MessageType.Completion, invocationId: message.invocationId, error });
  }
}
