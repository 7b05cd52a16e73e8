import { Logger } from '@nestjs/common';
import type { ConnectionDispatcher, InvocationSlot } from '../connection/connection-contracts.js';
import type { HubConnection } from '../connection/hub-connection.js';
import {
  CancelInvocationMessage,
  CompletionMessage,
  HubMessage,
  InvocationMessage,
  MessageType,
  StreamInvocationMessage,
  StreamItemMessage,
} from '../protocol/hub-messages.js';
import { InvalidDataError } from '../protocol/protocol-errors.js';
import { InvocationTexts, LogTexts } from '../signalr.messages.js';
import type { HubDescriptor, HubMethodDescriptor } from './hub-descriptor.js';
import { HubException } from './hub-exception.js';
import type { HubInvokerFactory, HubPipeline } from './hub-invoker.factory.js';
import { type CallerScope, InvocationScope, invokeInScope } from './hub-call-scope.js';
import { ClientCausedLogs } from '../logging/rate-limited-log.js';
import { logEvent } from '../logging/log-event.js';
import { invocationTelemetry } from '../observability/invocation-telemetry.js';
import { ConnectionStreams, discardStream, isStreamResult, runStream, RunningStream, streamCompletion, UploadStream } from './hub-streams.js';
import { InvocationAnswers } from './invocation-answers.js';

type HubMethod = (...args: unknown[]) => unknown;

const NO_UPLOADS: UploadStream[] = [];
const NO_STREAM_IDS: string[] = [];
const NOOP = () => undefined;

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
  /** The Completions the invocations send back, and the log lines of their failures. */
  private readonly answers: InvocationAnswers;

  /** Streams of each connection, both ways; created on a connection's first stream. */
  private readonly streams = new WeakMap<HubConnection, ConnectionStreams>();

  constructor(
    private readonly hub: HubDescriptor,
    private readonly createScope: (connection: HubConnection) => CallerScope,
    private readonly invokers: HubInvokerFactory,
  ) {
    this.logger = new Logger(`SignalR:${hub.name}`);
    this.answers = new InvocationAnswers(hub.name, this.logger);
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
    const streams = this.streams.get(connection);
    if (streams !== undefined) {
      this.streams.delete(connection);
      streams.closeAll();
    }
    const hook = (this.hub.instance as HubLifecycle).onDisconnected;
    if (typeof hook !== 'function' || connection.hubScope === null) return;
    const result = invokeInScope(connection.hubScope as CallerScope, this.hub.instance, hook, [error]);
    if (isPromiseLike(result)) return Promise.resolve(result).then(() => undefined);
  }

  dispatch(connection: HubConnection, message: HubMessage, slot?: InvocationSlot): void | Promise<void> {
    switch (message.type) {
      case MessageType.Invocation:
        return this.invoke(connection, message, slot);
      case MessageType.StreamInvocation:
        return this.stream(connection, message);
      case MessageType.StreamItem:
        return this.uploadItem(connection, message);
      case MessageType.Completion:
        this.completeUpload(connection, message);
        return;
      case MessageType.CancelInvocation:
        return this.cancel(connection, message);
      default:
        // Stream items, completions and cancellations for ids this server never issued: ignored, as in .NET.
        if (ClientCausedLogs.ignoredMessage.allow())
          this.logger.debug(
            logEvent(
              'UnsupportedMessageReceived',
              `Ignoring message of type ${message.type} from ${connection.connectionId}.`,
              this.answers.fields(connection),
            ),
          );
        return;
    }
  }

  private invoke(connection: HubConnection, message: InvocationMessage, slot: InvocationSlot | undefined): void | Promise<void> {
    const method = this.hub.methods.get(message.target.toLowerCase());
    if (method === undefined) {
      this.answers.sendError(connection, message, InvocationTexts.methodNotFound(message.target));
      return;
    }
    const uploads = this.bindUploads(connection, message, method);
    if (uploads === null) return;
    const args = uploads.length === 0 ? message.arguments : [...message.arguments, ...uploads];
    // The invocation's own scope, so a client-result call inside it can give its slot back.
    const scope = slot === undefined ? undefined : new InvocationScope(connection.hubScope as CallerScope, connection, slot);
    const done = (value: unknown) => this.answers.complete(connection, message, value);
    const failed = (error: unknown) => this.answers.fail(connection, message, method, error);
    const observed = invocationTelemetry.begin(this.hub.name, method.name, false, message.headers, connection, done, failed);
    const pending =
      observed === null
        ? this.call(connection, method, args, undefined, done, failed, scope)
        : observed.run(() => this.call(connection, method, args, undefined, observed.done, observed.failed, scope));
    if (uploads.length === 0) return pending;
    // A method reading uploads runs beside the connection's other messages (its uploads' items among
    // them), as in ASP.NET Core; uploads still open when it finishes are completed.
    const closeUploads = () => this.closeUploads(connection, message.streamIds!, uploads);
    if (pending === undefined) closeUploads();
    else void pending.finally(closeUploads);
  }

  /**
   * Calls a hub method directly or through its pipeline, in the caller's scope, and hands the outcome
   * to `done` or `failed`; returns a promise only while the method is still running.
   */
  private call(
    connection: HubConnection,
    method: HubMethodDescriptor,
    args: unknown[],
    signal: AbortSignal | undefined,
    done: (value: unknown) => void,
    failed: (error: unknown) => void,
    scope = connection.hubScope as CallerScope,
  ): void | Promise<void> {
    const pipeline = this.invokers.pipelineFor(this.hub, method);
    if (pipeline !== null) return this.invokeThroughPipeline(method, args, signal, pipeline, scope, done, failed);
    let result: unknown;
    try {
      result = invokeInScope(scope, this.hub.instance, method.handler, args);
    } catch (error) {
      failed(error);
      return;
    }
    if (isPromiseLike(result)) return Promise.resolve(result).then(done, failed);
    done(result);
  }

  /** Guards, interceptors and pipes run inside the caller's scope; errors go to the method's filters first. */
  private invokeThroughPipeline(
    method: HubMethodDescriptor,
    values: unknown[],
    signal: AbortSignal | undefined,
    pipeline: HubPipeline,
    scope: CallerScope,
    done: (value: unknown) => void,
    failed: (error: unknown) => void,
  ): Promise<void> {
    // The ws layout [caller, data, pattern], plus the stream's cancellation signal for @StreamCancellation().
    const args = [scope.context, values, method.name, signal];
    return Promise.resolve(invokeInScope(scope, this.hub.instance, pipeline.invoke as HubMethod, args)).then(done, (error) =>
      this.invokers.filterError(pipeline, error, args).then(done, failed),
    );
  }

  /**
   * A StreamInvocation: the method is called (holding the invocation slot until it returns), and if it
   * returns an AsyncIterable or Observable, its items go out in the background, beside the
   * connection's other invocations, as in ASP.NET Core.
   */
  private stream(connection: HubConnection, message: StreamInvocationMessage): void | Promise<void> {
    const method = this.hub.methods.get(message.target.toLowerCase());
    if (method === undefined) {
      this.answers.sendError(connection, message, InvocationTexts.methodNotFound(message.target));
      return;
    }
    const streams = this.streamsOf(connection);
    const id = message.invocationId;
    if (streams.running.has(id)) {
      this.answers.sendError(connection, message, InvocationTexts.invocationIdInUse(id));
      return;
    }
    // Refused before binding or calling anything: the refusal costs its Completion and holds nothing.
    const limit = connection.options.maximumStreamsPerClient;
    if (streams.running.size >= limit) {
      this.answers.sendError(connection, message, InvocationTexts.tooManyStreams(message.target, limit));
      return;
    }
    const uploads = this.bindUploads(connection, message, method);
    if (uploads === null) return;
    const stream = new RunningStream(id);
    if (uploads.length > 0) stream.uploads = uploads;
    streams.running.set(id, stream);
    const args = uploads.length === 0 ? message.arguments : [...message.arguments, ...uploads];
    const failed = (error: unknown) => {
      stream.starting = null;
      stream.observed?.end(error);
      if (stream.done) return;
      this.endStream(connection, stream);
      this.answers.fail(connection, message, method, error);
    };
    const observed = (stream.observed = invocationTelemetry.begin(this.hub.name, method.name, true, message.headers, connection, NOOP, NOOP));
    const call = () => this.call(connection, method, args, stream.signal, (value) => this.startStream(connection, message, stream, value, failed), failed);
    const started = observed === null ? call() : observed.run(call);
    // With uploads, the method's items arrive as later messages: it must not hold the slot meanwhile.
    if (uploads.length > 0) return undefined;
    if (started !== undefined && !stream.done) stream.starting = started;
    return started;
  }

  private startStream(
    connection: HubConnection,
    message: StreamInvocationMessage,
    stream: RunningStream,
    value: unknown,
    failed: (error: unknown) => void,
  ): void {
    stream.starting = null;
    if (!isStreamResult(value)) {
      if (stream.done) return;
      stream.observed?.end(new HubException(InvocationTexts.nonStreamingWithStream(message.target)));
      this.endStream(connection, stream);
      this.answers.sendError(connection, message, InvocationTexts.nonStreamingWithStream(message.target));
      return;
    }
    if (stream.done) {
      discardStream(value); // cancelled (or the connection ended) while the method was running
      return;
    }
    const scope = connection.hubScope as CallerScope;
    const finish = (ended: RunningStream, error: unknown) => this.finishStream(connection, ended, error);
    const running = invokeInScope(scope, this, runStream as HubMethod, [connection, stream, value, finish]) as Promise<void>;
    void running.catch(failed);
  }

  /** The stream's end: it is forgotten, and its last message goes out. */
  private finishStream(connection: HubConnection, stream: RunningStream, error: unknown): void {
    if (stream.done) return;
    stream.observed?.end(error);
    this.endStream(connection, stream);
    this.answers.streamEnded(connection, stream.invocationId, error);
  }

  /** Marks a stream over without firing its signal, and forgets it (its uploads end too). */
  private endStream(connection: HubConnection, stream: RunningStream): void {
    stream.observed?.end(undefined);
    stream.done = true;
    stream.subscription = null;
    if (stream.uploads !== null) this.closeUploads(connection, null, stream.uploads);
    const streams = this.streams.get(connection);
    if (streams?.running.get(stream.invocationId) === stream) streams.running.delete(stream.invocationId);
  }

  /**
   * CancelInvocation: the producer stops, the method's signal fires, and the final Completion goes out
   * now. A cancel that arrives while the method has not returned its stream yet (it runs through Nest's
   * pipeline, say) holds the connection's dispatch until it has, as ASP.NET Core awaits a
   * StreamInvocation until its stream starts: the stream's body runs, and sees its signal fire.
   */
  private cancel(connection: HubConnection, message: CancelInvocationMessage): void | Promise<void> {
    const streams = this.streams.get(connection);
    const stream = streams?.running.get(message.invocationId);
    if (stream === undefined) return; // unknown or finished: ignored, as in .NET
    const starting = stream.starting;
    if (starting !== null) {
      stream.starting = null;
      const again = () => this.cancel(connection, message);
      return starting.then(again, again);
    }
    streams!.running.delete(message.invocationId);
    stream.stop();
    connection.write(streamCompletion(stream.invocationId));
  }

  /**
   * Checks the sent arguments against the method's positional parameters and its `streamIds` against
   * its `@UploadStream()` parameters, as ASP.NET Core binds them (a stream parameter never takes a
   * sent argument). Returns the upload iterables (none without streamIds), or null after answering a
   * mismatch (logged at debug level, as ASP.NET Core's InvalidHubParameters) or uploads beyond
   * maximumUploadsPerClient; the method is then not called.
   */
  private bindUploads(connection: HubConnection, message: InvocationMessage | StreamInvocationMessage, method: HubMethodDescriptor): UploadStream[] | null {
    const streamIds = message.streamIds ?? NO_STREAM_IDS;
    const sent = message.arguments.length;
    if (sent !== method.parameterCount) {
      const error = new InvalidDataError(InvocationTexts.argumentCount(sent, method.parameterCount));
      if (ClientCausedLogs.invalidParameters.allow())
        this.logger.debug(
          logEvent('InvalidHubParameters', LogTexts.invalidHubParameters(message.target, error), this.answers.fields(connection, message.target)),
        );
      this.answers.sendError(connection, message, InvocationTexts.bindingFailed(message.target, error, connection.options.enableDetailedErrors));
      return null;
    }
    if (streamIds.length !== method.streamCount) {
      const error = new HubException(InvocationTexts.streamCount(streamIds.length, method.streamCount));
      if (ClientCausedLogs.invalidParameters.allow())
        this.logger.debug(
          logEvent('InvalidHubParameters', LogTexts.invalidHubParameters(message.target, error), this.answers.fields(connection, message.target)),
        );
      this.answers.sendError(connection, message, InvocationTexts.failed(message.target, error, true, true));
      return null;
    }
    if (streamIds.length === 0) return NO_UPLOADS;
    const uploads = this.streamsOf(connection).uploads;
    const limit = connection.options.maximumUploadsPerClient;
    if (uploads.size + streamIds.length > limit) {
      this.answers.sendError(connection, message, InvocationTexts.tooManyUploads(message.target, limit));
      return null;
    }
    return streamIds.map((id) => {
      const upload = new UploadStream();
      uploads.get(id)?.close(); // a repeated id replaces the earlier registration, as .NET's StreamTracker
      uploads.set(id, upload);
      return upload;
    });
  }

  /** Completes uploads whose method finished; ids are forgotten only while they still name these uploads. */
  private closeUploads(connection: HubConnection, ids: string[] | null, uploads: UploadStream[]): void {
    const registered = this.streams.get(connection)?.uploads;
    for (const upload of uploads) upload.close();
    if (registered === undefined) return;
    if (ids !== null) {
      for (let i = 0; i < ids.length; i++) if (registered.get(ids[i]) === uploads[i]) registered.delete(ids[i]);
      return;
    }
    for (const [id, upload] of registered) if (uploads.includes(upload)) registered.delete(id);
  }

  /** A client StreamItem: fed to its upload; while the upload is full, the connection's dispatch waits. */
  private uploadItem(connection: HubConnection, message: StreamItemMessage): void | Promise<void> {
    return this.streams.get(connection)?.uploads.get(message.invocationId)?.push(message.item);
  }

  /** A client Completion of an upload; false when the id names no upload (unknown ids are ignored). */
  completeUpload(connection: HubConnection, message: CompletionMessage): boolean {
    const uploads = this.streams.get(connection)?.uploads;
    const upload = uploads?.get(message.invocationId);
    if (upload === undefined) return false;
    uploads!.delete(message.invocationId);
    upload.complete(message.error);
    return true;
  }

  private streamsOf(connection: HubConnection): ConnectionStreams {
    let streams = this.streams.get(connection);
    if (streams === undefined) {
      streams = new ConnectionStreams();
      this.streams.set(connection, streams);
    }
    return streams;
  }
}
