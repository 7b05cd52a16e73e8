import { Logger, LoggerService } from '@nestjs/common';
import { getEventListeners } from 'events';
import type { ConnectionTransport } from '../../src/connection/connection-transport.js';
import { HubConnection } from '../../src/connection/hub-connection.js';
import { HubException } from '../../src/hub/hub-exception.js';
import type { ResolvedHubOptions } from '../../src/interfaces/signalr-options.interface.js';
import { ClientResults, ClientResultTexts } from '../../src/lifetime/client-results.js';
import { CompletionMessage, MessageType } from '../../src/protocol/hub-messages.js';
import { JsonHubProtocol } from '../../src/protocol/json-hub-protocol.js';
import { DEFAULT_HUB_OPTIONS } from '../../src/signalr.constants.js';
import { ClientResultCapTexts } from '../../src/signalr.messages.js';

const RS = '\x1e';

/**
 * The network end of a connection: keeps what the connection sends, as the JSON records it parses
 * to, and resolves `next()` with the next batch.
 */
class RecordingTransport implements ConnectionTransport {
  readonly name = 'WebSockets' as const;
  readonly supportsBinary = true;
  readonly bufferedAmount = 0;
  readonly records: unknown[] = [];
  private waiting: Array<() => void> = [];

  send(data: Buffer): void {
    for (const text of data.toString().split(RS).slice(0, -1)) this.records.push(JSON.parse(text));
    for (const wake of this.waiting.splice(0)) wake();
  }
  next(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  close(): void {}
  pause(): void {}
  resume(): void {}
}

/** A connected JSON connection on the recording transport, with at most `cap` pending client results. */
function connection(id: string, cap = 100): { connection: HubConnection; transport: RecordingTransport } {
  const options = { ...DEFAULT_HUB_OPTIONS, maximumPendingClientResultsPerClient: cap } as unknown as ResolvedHubOptions;
  const result = new HubConnection(id, `${id}-token`, '/hub', options);
  const transport = new RecordingTransport();
  result.protocol = new JsonHubProtocol();
  result.transport = transport;
  result.state = 'connected';
  return { connection: result, transport };
}

/** The id the server gave the invocation it sent (`s` and a number, apart from the client's stream ids). */
function sentId(transport: RecordingTransport, index: number): string {
  const { invocationId } = transport.records[index] as { invocationId: string };
  expect(invocationId).toMatch(/^s\d+$/);
  return invocationId;
}

function completion(invocationId: string, outcome: { result?: unknown; error?: string }): CompletionMessage {
  return { type: MessageType.Completion, invocationId, ...outcome };
}

/** How a promise settled, as a comparable value. */
function settled<T>(promise: Promise<T>): Promise<{ value: T } | { error: string }> {
  return promise.then(
    (value) => ({ value }),
    (error: Error) => ({ error: `${error.name}: ${error.message}` }),
  );
}

/**
 * Client results (ASP.NET Core's ClientResultsManager) on a connection without a socket:
 * client-results.spec.ts (e2e) and connection-caps.spec.ts drive them with the official client;
 * these pin every outcome and that each one lets go of its entry and listeners.
 */
describe('ClientResults', () => {
  let results: ClientResults;
  beforeEach(() => (results = new ClientResults()));

  it('sends an Invocation with a server id and resolves with the Completion result, leaving nothing behind', async () => {
    const { connection: one, transport } = connection('c1');
    const answer = results.invoke<number>(one, 'c1', 'Ask', ['question', 2]);
    await transport.next();
    const id = sentId(transport, 0);
    expect(transport.records).toEqual([{ type: 1, invocationId: id, target: 'Ask', arguments: ['question', 2] }]);
    expect(results.pendingCount).toBe(1);
    expect(getEventListeners(one.abortSignal, 'abort')).toHaveLength(1);
    expect(results.tryComplete(one, completion(id, { result: 42 }))).toBe(true);
    await expect(answer).resolves.toBe(42);
    expect(results.pendingCount).toBe(0);
    expect(getEventListeners(one.abortSignal, 'abort')).toHaveLength(0);
    // A second Completion for it answers nothing: it takes the usual path (a stream's end, say).
    expect(results.tryComplete(one, completion(id, { result: 43 }))).toBe(false);
  });

  it("rejects with the client's error as a HubException", async () => {
    const { connection: one, transport } = connection('c1');
    const answer = results.invoke(one, 'c1', 'Ask', []);
    await transport.next();
    results.tryComplete(one, completion(sentId(transport, 0), { error: 'Client threw' }));
    await expect(answer).rejects.toEqual(new HubException('Client threw'));
    await expect(answer).rejects.toBeInstanceOf(HubException);
  });

  it('refuses an unknown or closed connection with the IOException text, sending nothing', async () => {
    const { connection: one, transport } = connection('c1');
    one.markClosed();
    expect([await settled(results.invoke(undefined, 'gone', 'Ask', [])), await settled(results.invoke(one, 'c1', 'Ask', []))]).toEqual([
      { error: `IOException: ${ClientResultTexts.doesNotExist('gone')}` },
      { error: `IOException: ${ClientResultTexts.doesNotExist('c1')}` },
    ]);
    expect(transport.records).toEqual([]);
    expect(results.pendingCount).toBe(0);
  });

  it('cancels with the signal: at once when already aborted, or later, and a late answer then answers nothing', async () => {
    const { connection: one, transport } = connection('c1');
    expect(await settled(results.invoke(one, 'c1', 'Ask', [], AbortSignal.abort()))).toEqual({ error: `Error: ${ClientResultTexts.canceled}` });
    expect(results.pendingCount).toBe(0);

    const controller = new AbortController();
    const answer = settled(results.invoke(one, 'c1', 'Ask', [], controller.signal));
    await transport.next();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect(await answer).toEqual({ error: `Error: ${ClientResultTexts.canceled}` });
    expect(results.pendingCount).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(one.abortSignal, 'abort')).toHaveLength(0);
    expect(results.tryComplete(one, completion(sentId(transport, 0), { result: 1 }))).toBe(false);
  });

  it('fails every pending call of a connection that closes, in the order they were made, and only its own', async () => {
    const { connection: one, transport } = connection('c1');
    const { connection: two, transport: other } = connection('c2');
    const order: string[] = [];
    const calls = ['first', 'second', 'third'].map((name) =>
      results.invoke(one, 'c1', name, []).catch((error: Error) => order.push(`${name} ${error.name}: ${error.message}`)),
    );
    const elsewhere = results.invoke<string>(two, 'c2', 'Ask', []);
    await Promise.all([transport.next(), other.next()]);
    expect(results.pendingCount).toBe(4);
    one.markClosed();
    await Promise.all(calls);
    const disconnected = `IOException: ${ClientResultTexts.disconnected('c1')}`;
    expect(order).toEqual([`first ${disconnected}`, `second ${disconnected}`, `third ${disconnected}`]);
    expect(results.pendingCount).toBe(1);
    results.tryComplete(two, completion(sentId(other, 0), { result: 'still here' }));
    await expect(elsewhere).resolves.toBe('still here');
  });

  it('refuses calls beyond maximumPendingClientResultsPerClient, and takes new ones once one is answered', async () => {
    const { connection: one, transport } = connection('c1', 2);
    const first = results.invoke(one, 'c1', 'Ask', [1]);
    const second = results.invoke(one, 'c1', 'Ask', [2]);
    expect(await settled(results.invoke(one, 'c1', 'Ask', [3]))).toEqual({ error: `Error: ${ClientResultCapTexts.tooManyPending('c1', 2)}` });
    await transport.next();
    expect(transport.records).toHaveLength(2);
    results.tryComplete(one, completion(sentId(transport, 0), { result: 'one' }));
    await expect(first).resolves.toBe('one');
    const third = results.invoke(one, 'c1', 'Ask', [3]);
    await transport.next();
    expect((transport.records[2] as { arguments: unknown[] }).arguments).toEqual([3]);
    results.tryComplete(one, completion(sentId(transport, 1), { result: 'two' }));
    results.tryComplete(one, completion(sentId(transport, 2), { result: 'three' }));
    expect([await second, await third]).toEqual(['two', 'three']);
  });

  it("drops an answer from another connection than the one asked, and keeps waiting for the right one's", async () => {
    const lines: string[] = [];
    const logger: LoggerService = { log: () => undefined, error: () => undefined, warn: (message: string) => lines.push(String(message)) };
    Logger.overrideLogger(logger);
    try {
      const { connection: one, transport } = connection('c1');
      const { connection: two } = connection('c2');
      const answer = results.invoke(one, 'c1', 'Ask', []);
      await transport.next();
      const id = sentId(transport, 0);
      expect(results.tryComplete(two, completion(id, { result: 'forged' }))).toBe(true);
      expect(results.pendingCount).toBe(1);
      expect(lines).toEqual([ClientResultTexts.wrongConnection('c2', id)]);
      results.tryComplete(one, completion(id, { result: 'real' }));
      await expect(answer).resolves.toBe('real');
    } finally {
      Logger.overrideLogger(false);
    }
  });

  it('fails a call whose arguments the protocol cannot write, with the encoder error, and keeps nothing', async () => {
    Logger.overrideLogger(false);
    const { connection: one, transport } = connection('c1');
    const outcome = await settled(results.invoke(one, 'c1', 'Ask', [10n]));
    expect(outcome).toEqual({ error: expect.stringMatching(/^TypeError: .*BigInt/) });
    expect(results.pendingCount).toBe(0);
    expect(getEventListeners(one.abortSignal, 'abort')).toHaveLength(0);
    expect(transport.records).toEqual([]);
  });

  describe('calls forwarded for another instance', () => {
    it('hands the Completion to the caller, or tells it the connection went away', () => {
      const { connection: one } = connection('c1');
      const seen: unknown[] = [];
      const call = { completed: (message: CompletionMessage) => seen.push(message), disconnected: () => seen.push('disconnected') };
      expect(results.forward(one, 'r1', call)).toBe(true);
      expect(results.forward(one, 'r2', call)).toBe(true);
      expect(results.tryComplete(one, completion('r1', { result: 7 }))).toBe(true);
      expect(seen).toEqual([completion('r1', { result: 7 })]);
      one.markClosed();
      expect(seen).toEqual([completion('r1', { result: 7 }), 'disconnected']);
      expect(results.pendingCount).toBe(0);
      expect(results.forward(one, 'r3', call)).toBe(false);
      expect(seen).toHaveLength(3);
      expect(seen[2]).toBe('disconnected');
    });

    it('counts against the same cap and answers a refused one with an error Completion', () => {
      const { connection: one } = connection('c1', 1);
      const seen: unknown[] = [];
      const call = { completed: (message: CompletionMessage) => seen.push(message), disconnected: () => seen.push('disconnected') };
      expect(results.forward(one, 'r1', call)).toBe(true);
      expect(results.forward(one, 'r2', call)).toBe(false);
      expect(seen).toEqual([completion('r2', { error: ClientResultCapTexts.tooManyPending('c1', 1) })]);
    });
  });
});
