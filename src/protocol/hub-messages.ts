/**
 * Message type ids of the SignalR hub protocol (HubProtocol.md, HubProtocolConstants.cs).
 *
 * @example
 * const message: HubMessage = { type: MessageType.Invocation, target: 'message', arguments: ['ada', 'hi'] };
 */
export const MessageType = {
  Invocation: 1,
  StreamItem: 2,
  Completion: 3,
  StreamInvocation: 4,
  CancelInvocation: 5,
  Ping: 6,
  Close: 7,
  Ack: 8,
  Sequence: 9,
} as const;

/**
 * Headers a message may carry (the protocol's `headers` map).
 *
 * @example
 * const headers: MessageHeaders = { 'x-trace': 'abc' };
 */
export type MessageHeaders = Record<string, string>;

/**
 * A call of a method on the other side; without `invocationId` nothing answers it (a send).
 *
 * @example
 * const message: InvocationMessage = { type: MessageType.Invocation, target: 'message', arguments: ['ada', 'hi'] };
 */
export interface InvocationMessage {
  type: typeof MessageType.Invocation;
  headers?: MessageHeaders;
  /** Absent for a non-blocking invocation: the receiver sends nothing back. */
  invocationId?: string;
  target: string;
  arguments: unknown[];
  streamIds?: string[];
}

/**
 * One item of a stream, for the invocation it belongs to.
 *
 * @example
 * const message: StreamItemMessage = { type: MessageType.StreamItem, invocationId: '1', item: 42 };
 */
export interface StreamItemMessage {
  type: typeof MessageType.StreamItem;
  headers?: MessageHeaders;
  invocationId: string;
  item: unknown;
}

/**
 * `result` present (even `undefined`, written as null) means the method produced a value or was void;
 * no `result` and no `error` is the completion of a stream.
 *
 * @example
 * const message: CompletionMessage = { type: MessageType.Completion, invocationId: '1', result: 'ok' };
 */
export interface CompletionMessage {
  type: typeof MessageType.Completion;
  headers?: MessageHeaders;
  invocationId: string;
  result?: unknown;
  error?: string;
}

/**
 * A call of a streaming method: the answer is StreamItem messages, then a Completion.
 *
 * @example
 * const message: StreamInvocationMessage = { type: MessageType.StreamInvocation, invocationId: '2', target: 'ticks', arguments: [] };
 */
export interface StreamInvocationMessage {
  type: typeof MessageType.StreamInvocation;
  headers?: MessageHeaders;
  invocationId: string;
  target: string;
  arguments: unknown[];
  streamIds?: string[];
}

/**
 * Stops a stream the client asked for.
 *
 * @example
 * const message: CancelInvocationMessage = { type: MessageType.CancelInvocation, invocationId: '2' };
 */
export interface CancelInvocationMessage {
  type: typeof MessageType.CancelInvocation;
  headers?: MessageHeaders;
  invocationId: string;
}

/**
 * Keep-alive.
 *
 * @example
 * const message: PingMessage = { type: MessageType.Ping };
 */
export interface PingMessage {
  type: typeof MessageType.Ping;
}

/**
 * The end of the connection, with the error that ended it and whether the client may reconnect.
 *
 * @example
 * const message: CloseMessage = { type: MessageType.Close, error: 'Server is shutting down.', allowReconnect: true };
 */
export interface CloseMessage {
  type: typeof MessageType.Close;
  error?: string;
  allowReconnect?: boolean;
}

/**
 * Stateful reconnect: messages up to `sequenceId` arrived.
 *
 * @example
 * const message: AckMessage = { type: MessageType.Ack, sequenceId: 10 };
 */
export interface AckMessage {
  type: typeof MessageType.Ack;
  sequenceId: number;
}

/**
 * Stateful reconnect: the sequence id of the next message sent.
 *
 * @example
 * const message: SequenceMessage = { type: MessageType.Sequence, sequenceId: 11 };
 */
export interface SequenceMessage {
  type: typeof MessageType.Sequence;
  sequenceId: number;
}

/**
 * Every message of the hub protocol, told apart by `type` (ASP.NET Core's `HubMessage` subclasses).
 *
 * @example
 * if (message.type === MessageType.Completion) console.log(message.invocationId, message.error ?? message.result);
 */
export type HubMessage =
  | InvocationMessage
  | StreamItemMessage
  | CompletionMessage
  | StreamInvocationMessage
  | CancelInvocationMessage
  | PingMessage
  | CloseMessage
  | AckMessage
  | SequenceMessage;
