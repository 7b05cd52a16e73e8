import { Hub, StreamCancellation, UploadStream } from '../../src/index.js';
import { toComplexObject, sampleComplexObject, type ComplexObject, type ReceivedComplexObject } from './complex-object.js';
import { ArgumentNullException, InvalidOperationException } from './dotnet-exceptions.js';

/** The functional tests' CustomObject, PascalCase as the ASP.NET Core app writes it. */
export interface CustomObject {
  Name: string;
  Value: number;
}

/**
 * The functional tests' TestHub (section 8.2 of the protocol reference). Method names match
 * case-insensitively, so `Echo`, `echo` and `ECHO` all reach `echo`.
 */
@Hub('/testhub')
export class TestHub extends Hub {
  echo(message: string): string {
    return message;
  }

  getCallerConnectionId(): string {
    return this.context.connectionId;
  }

  /** The `numRedirects` query value of the request that carries the connection (set by `/redirect`). */
  getNumRedirects(): number {
    const value = this.context.request.query.get('numRedirects');
    if (value === null) throw new ArgumentNullException('s');
    return Number.parseInt(value, 10);
  }

  throwException(message: string): void {
    throw new InvalidOperationException(message);
  }

  invokeWithString(message: string): Promise<void> {
    return this.clients.client(this.context.connectionId).send('Message', message);
  }

  /** Binds the object as .NET would (unknown keys dropped) and sends it back to the caller. */
  sendCustomObject(customObject: CustomObject): Promise<void> {
    const bound: CustomObject = { Name: customObject.Name, Value: customObject.Value };
    return this.clients.client(this.context.connectionId).send('CustomObject', bound);
  }

  async *stream(): AsyncGenerator<string> {
    yield 'a';
    yield 'b';
    yield 'c';
  }

  /** Yields nothing; when the client cancels (or leaves), tells it `StreamCanceled`. */
  // eslint-disable-next-line require-yield -- a stream that never yields: only its cancellation is observed
  async *infiniteStream(@StreamCancellation() cancellation: AbortSignal): AsyncGenerator<string> {
    const caller = this.clients.client(this.context.connectionId);
    // Like .NET's token.Register, which runs at once for a token that is already cancelled.
    await new Promise<void>((resolve) => {
      if (cancellation.aborted) resolve();
      else cancellation.addEventListener('abort', () => resolve(), { once: true });
    });
    await caller.send('StreamCanceled');
  }

  async streamingConcat(@UploadStream() stream: AsyncIterable<string>): Promise<string> {
    let text = '';
    for await (const item of stream) text += item;
    return text;
  }

  async *emptyStream(): AsyncGenerator<number> {}

  /** Throws before any stream exists (a plain function, not a generator). */
  streamThrowException(message: string): AsyncIterable<string> {
    throw new InvalidOperationException(message);
  }

  getActiveTransportName(): string | undefined {
    return this.context.transport;
  }

  echoComplexObject(complexObject: ReceivedComplexObject): ComplexObject {
    return toComplexObject(complexObject);
  }

  sendComplexObject(): ComplexObject {
    return sampleComplexObject();
  }

  /** A header of the request that carries the connection, or null. */
  getHeader(name: string): string | null {
    const value = this.context.request.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(',') : value;
  }

  getCookie(name: string): string | null {
    return this.context.request.cookies[name] ?? null;
  }

  getContentTypeHeader(): string | null {
    return this.getHeader('Content-Type');
  }
}

/** The same hub without WebSockets, as the ASP.NET Core app maps TestHub a second time. */
@Hub('/testhub-nowebsockets', { transports: ['ServerSentEvents', 'LongPolling'] })
export class TestHubNoWebSockets extends TestHub {}
