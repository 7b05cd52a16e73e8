import type { Logger } from '@nestjs/common';
import type { HubConnection } from '../connection/hub-connection.js';
import { type InvocationMessage, MessageType, type StreamInvocationMessage } from '../protocol/hub-messages.js';
import { connectionFields, describeError, logEvent, stackOf } from '../logging/log-event.js';
import { ClientCausedLogs } from '../logging/rate-limited-log.js';
import { InvocationTexts, LogTexts } from '../signalr.messages.js';
import type { HubMethodDescriptor } from './hub-descriptor.js';
import { describeInvocationError, StreamItemNotSerialized } from './hub-errors.js';
import { HubException } from './hub-exception.js';
import { discardStream, isStreamResult, streamCompletion } from './hub-streams.js';

/**
 * What a hub's invocations send back, as ASP.NET Core's DefaultHubDispatcher does: a Completion with
 * the result, or with the error text the client may see, and the log line for failures the hub did
 * not mean (a HubException is meant; a result the protocol cannot write is a warning).
 */
export class InvocationAnswers {
  constructor(
    private readonly hubName: string,
    /** The hub's logger (`SignalR:{hub}`), the dispatcher's. */
    private readonly logger: Logger,
  ) {}

  /** A log line's fields: this hub, the method when there is one, and the connection's. */
  fields(connection: HubConnection, method?: string) {
    const fields = { hub: this.hubName, ...connectionFields(connection) };
    return method === undefined ? fields : { ...fields, method };
  }

  /** The method returned: its result, or an error when it returned a stream to a plain invocation or a value the protocol cannot write. */
  complete(connection: HubConnection, message: InvocationMessage, value: unknown): void {
    if (isStreamResult(value)) {
      discardStream(value);
      this.sendError(connection, message, InvocationTexts.streamingWithInvoke(message.target));
      return;
    }
    if (message.invocationId === undefined) return;
    try {
      connection.write({ type: MessageType.Completion, invocationId: message.invocationId, result: value === undefined ? null : value });
    } catch (error) {
      // The protocol could not write the result (nothing was queued): the caller gets an error instead of no answer.
      if (ClientCausedLogs.notSerialized.allow())
        this.logger.warn(logEvent('ResultNotSerialized', LogTexts.resultNotSerialized(message.target, error), this.fields(connection, message.target)));
      this.sendError(connection, message, InvocationTexts.failed(message.target, error, connection.options.enableDetailedErrors, false));
    }
  }

  /** The method threw or rejected: the error the client may see, logged unless the hub meant it. */
  fail(connection: HubConnection, message: InvocationMessage | StreamInvocationMessage, method: HubMethodDescriptor, error: unknown): void {
    const { text, expected } = describeInvocationError(message.target, error, connection.options.enableDetailedErrors);
    if (!expected && ClientCausedLogs.hubMethodFailed.allow()) {
      const fields = { ...this.fields(connection, method.name), error: describeError(error) };
      this.logger.error(logEvent('FailedInvokingHubMethod', `Failed to invoke hub method '${method.name}'.`, fields), stackOf(error));
    }
    this.sendError(connection, message, text);
  }

  /** A stream's last message: a Completion without result, or with the error text of its failure. */
  streamEnded(connection: HubConnection, invocationId: string, error: unknown): void {
    if (error === undefined) {
      connection.write(streamCompletion(invocationId));
      return;
    }
    const detailed = connection.options.enableDetailedErrors;
    if (error instanceof StreamItemNotSerialized) {
      if (ClientCausedLogs.notSerialized.allow())
        this.logger.warn(logEvent('StreamItemNotSerialized', LogTexts.streamItemNotSerialized(invocationId, error.cause), this.fields(connection)));
      connection.write(streamCompletion(invocationId, InvocationTexts.streamFailed(error.cause, detailed, false)));
      return;
    }
    const isHubException = error instanceof HubException;
    if (!isHubException && ClientCausedLogs.hubMethodFailed.allow()) {
      this.logger.error(
        logEvent('FailedStreaming', 'Failed while streaming results.', { ...this.fields(connection), error: describeError(error) }),
        stackOf(error),
      );
    }
    connection.write(streamCompletion(invocationId, InvocationTexts.streamFailed(error, detailed, isHubException)));
  }

  /** Non-blocking invocations get nothing back, not even an error (as in .NET). */
  sendError(connection: HubConnection, message: InvocationMessage | StreamInvocationMessage, error: string): void {
    if (message.invocationId === undefined) return;
    connection.write({ type: MessageType.Completion, invocationId: message.invocationId, error });
  }
}
