import { inspect, types } from 'util';

/**
 * The stable names of the module's log events, a user can filter on. ASP.NET Core's EventId names
 * where it has the same event; ours (marked) where it has none.
 */
export type SignalRLogEventName =
  // Connections (ASP.NET Core's HubConnectionContext and HubConnectionHandler)
  | 'HandshakeFailed'
  | 'ErrorDispatchingHubEvent'
  | 'ErrorProcessingRequest'
  | 'SlowConsumerClosed' // ours: a connection that stopped reading until its send buffer filled
  | 'ShutdownTimedOut' // ours
  | 'FailedDispatchingMessage' // ours: an error escaping the hub layer while it handled a message
  // Hub methods (ASP.NET Core's DefaultHubDispatcher)
  | 'FailedInvokingHubMethod'
  | 'FailedStreaming'
  | 'InvalidHubParameters'
  | 'UnsupportedMessageReceived'
  | 'ResultNotSerialized' // ours
  | 'StreamItemNotSerialized' // ours
  // HTTP (ASP.NET Core's HttpConnectionDispatcher)
  | 'UserNameChanged'
  | 'ApplicationError' // Kestrel's name: an exception that ended a request with 500
  | 'AuthenticationFailed' // ours: `authenticate` threw, and the request got 401
  // Raw connections (@ConnectionHandler)
  | 'ConnectionHandlerFailed' // ours
  // Fan-out and client results
  | 'ArgumentsNotSerialized' // ours
  | 'WrongConnectionResult' // ours
  // Redis backplane (ASP.NET Core's RedisHubLifetimeManager)
  | 'ConnectionFailed'
  | 'ConnectionRestored'
  | 'InternalMessageFailed'
  | 'MismatchedServers'
  | 'PresenceSyncFailed' // ours: this instance's presence could not be written or read back after an outage
  | 'StickySessionsNeeded' // ours: another instance shares the backplane and no connectionTokenSecret is set
  | 'ConnectionStartUnclaimed' // ours: a signed token started its connection without the cluster's claim (Redis unreachable)
  // Summaries of rate-limited lines (src/logging/rate-limited-log.ts)
  | 'LogLinesSuppressed'; // ours

/**
 * One structured log line of the module, handed to Nest's `Logger` as its message: the fields are
 * its own enumerable properties (so JSON loggers, Nest's `ConsoleLogger({ json: true })` or pino,
 * write them as fields), `String(line)` is the text alone, and Nest's plain console shows the text
 * followed by the fields in brackets. Fields that do not apply are absent, never null.
 *
 * @example
 * // Nest's JSON console logger prints a failed hub method as
 * // {"level":"error","pid":7,"timestamp":1767225600000,"message":{"event":"FailedInvokingHubMethod",
 * //  "text":"Failed to invoke hub method 'SendMessage'.","hub":"ChatHub","method":"SendMessage",
 * //  "connectionId":"V1StGXR8","user":"ada","transport":"WebSockets"},"context":"SignalR:ChatHub","stack":"..."}
 * // and the plain one as
 * // [Nest] 7  - ... ERROR [SignalR:ChatHub] Failed to invoke hub method 'SendMessage'. [event=FailedInvokingHubMethod hub=ChatHub method=SendMessage connectionId=V1StGXR8 user=ada transport=WebSockets]
 * const failures = lines.filter((line) => line.message?.event === 'FailedInvokingHubMethod');
 */
export interface SignalRLogEvent {
  /** The event's stable name. */
  readonly event: SignalRLogEventName;
  /** The human-readable line (what `String(line)` returns). */
  readonly text: string;
  /** The hub class's name. */
  readonly hub?: string;
  /** The hub method (or client method, for sends) concerned. */
  readonly method?: string;
  /** The connection's id (the one `Context.connectionId` and client-side `connectionId` show). */
  readonly connectionId?: string;
  /** The connection's user identifier (userIdProvider), when it has one. */
  readonly user?: string;
  /** `WebSockets`, `ServerSentEvents` or `LongPolling`. */
  readonly transport?: string;
  /** The error, as `Type: message` (its stack goes to the logger's stack argument where there is one). */
  readonly error?: string;
  /** The text, so a logger that stringifies its message writes what it always did. */
  toString(): string;
}

/** The fields a call site may give besides the name and text. */
export type LogFields = Omit<SignalRLogEvent, 'event' | 'text' | 'toString'>;

/** What a connection can tell about itself for log fields (a structural subset of HubConnection). */
export interface LoggedConnection {
  readonly connectionId: string;
  readonly userIdentifier?: string | null;
  readonly transport?: { readonly name: string } | null;
}

/** connectionId, user and transport of `connection`, for a log line's fields. */
export function connectionFields(connection: LoggedConnection): Pick<LogFields, 'connectionId' | 'user' | 'transport'> {
  const fields: { connectionId: string; user?: string; transport?: string } = { connectionId: connection.connectionId };
  if (connection.userIdentifier != null) fields.user = connection.userIdentifier;
  if (connection.transport != null) fields.transport = connection.transport.name;
  return fields;
}

const FIELD_ORDER = ['hub', 'method', 'connectionId', 'user', 'transport', 'error'] as const;

/** A value as logfmt writes it: bare when it has no space, quote or equals sign, else JSON-quoted. */
function formatValue(value: string): string {
  return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
}

class LogLine implements SignalRLogEvent {
  declare readonly hub?: string;
  declare readonly method?: string;
  declare readonly connectionId?: string;
  declare readonly user?: string;
  declare readonly transport?: string;
  declare readonly error?: string;

  constructor(
    readonly event: SignalRLogEventName,
    readonly text: string,
    fields: LogFields | undefined,
  ) {
    if (fields === undefined) return;
    // Only the fields that apply become properties, in one stable order.
    for (const key of FIELD_ORDER) {
      const value = fields[key];
      if (value !== undefined) (this as Record<string, unknown>)[key] = value;
    }
  }

  toString(): string {
    return this.text;
  }

  /** Nest's plain ConsoleLogger inspects non-string messages: the text, then the fields as `key=value`. */
  [inspect.custom](): string {
    let fields = `event=${this.event}`;
    for (const key of FIELD_ORDER) {
      const value = this[key];
      if (value !== undefined) fields += ` ${key}=${formatValue(value)}`;
    }
    return `${this.text} [${fields}]`;
  }
}

/**
 * A log line with a stable event name and structured fields, to hand to a Nest `Logger` as message.
 * Build it only once the line is to be written (behind `RateLimitedLog.allow()` or a level check).
 */
export function logEvent(event: SignalRLogEventName, text: string, fields?: LogFields): SignalRLogEvent {
  return new LogLine(event, text, fields);
}

/**
 * An error for the `error` field: `Type: message` for an Error (of any realm), what util.inspect
 * shows on one line for anything else thrown (an object, not `[object Object]`).
 */
export function describeError(error: unknown): string {
  if (error instanceof Error || types.isNativeError(error)) return `${error.name}: ${error.message}`;
  return typeof error === 'string' ? error : inspect(error, { breakLength: Infinity });
}

/** The stack to hand the logger with an error line; none for a thrown non-Error (its text is in the `error` field). */
export function stackOf(error: unknown): string | undefined {
  return error instanceof Error ? error.stack : undefined;
}
