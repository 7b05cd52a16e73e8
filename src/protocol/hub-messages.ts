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

export type MessageHeaders = Record<string, string>;

export interface InvocationMessage {
  type: typeof MessageType.Invocation;
  headers?: MessageHeaders;
  /** Absent for a non-blocking invocation: the receiver sends nothing back. */
  invocationId?: string;
  target: string;
  arguments: unknown[];
  streamIds?: string[];
}

export interface StreamItemMessage {
  type: typeof MessageType.StreamItem;
  headers?: MessageHeaders;
  invocationId: string;
  item: unknown;
}

/**
 * `result` present (even `undefined`, written as null) means the method produced a value or was void;
 * no `result` and no `error` is the completion of a stream.
 */
export interface CompletionMessage {
  type: typeof MessageType.Completion;
  headers?: MessageHeaders;
  invocationId: string;
  result?: unknown;
  error?: string;
}

export interface StreamInvocationMessage {
  type: typeof MessageType.StreamInvocation;
  headers?: MessageHeaders;
  invocationId: string;
  target: string;
  arguments: unknown[];
  streamIds?: string[];
}

export interface CancelInvocationMessage {
  type: typeof MessageType.CancelInvocation;
  headers?: MessageHeaders;
  invocationId: string;
}

export interface PingMessage {
  type: typeof MessageType.Ping;
}

export interface CloseMessage {
  type: typeof MessageType.Close;
  error?: string;
  allowReconnect?: boolean;
}

export interface AckMessage {
  type: typeof MessageType.Ack;
  sequenceId: number;
}

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
