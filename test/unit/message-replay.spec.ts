import { MessageType } from '../../src/protocol/hub-messages.js';
import { isSequenced, MessageReplay } from '../../src/connection/message-replay.js';

/** A message of `size` bytes whose content names it, so replays can be compared by name. */
function message(name: string, size = name.length): Buffer {
  return Buffer.from(name.padEnd(size, '.'));
}

/** Everything `nextToSend` gives until it gives null, as text. */
function drain(replay: MessageReplay): string[] {
  const sent: string[] = [];
  for (let next = replay.nextToSend(); next !== null; next = replay.nextToSend()) sent.push(next.toString());
  return sent;
}

/**
 * MessageReplay (stateful reconnect) without a socket: stateful-reconnect.spec.ts drives it through
 * the official client over real WebSockets; these pin each rule of the bookkeeping on its own.
 */
describe('MessageReplay', () => {
  it('sequences exactly the invocation, stream item, completion, stream invocation and cancel messages', () => {
    const sequenced = Object.entries(MessageType)
      .filter(([, type]) => isSequenced(type))
      .map(([name]) => name);
    expect(sequenced).toEqual(['Invocation', 'StreamItem', 'Completion', 'StreamInvocation', 'CancelInvocation']);
  });

  describe('outbound', () => {
    it('lets messages go while the unacknowledged bytes are within the limit, and holds the rest in order', () => {
      const replay = new MessageReplay(10);
      expect(replay.add(message('a', 6))).toBe(true); // 6 bytes out
      expect(replay.add(message('b', 6))).toBe(true); // 6 <= 10 before it: goes, 12 out
      expect(replay.add(message('c', 1))).toBe(false); // 12 > 10: waits
      expect(replay.add(message('d', 1))).toBe(false); // something waits before it: waits too
      expect(replay.keptBytes).toBe(14);
      expect(replay.nextToSend()).toBeNull();
    });

    it('drops acknowledged messages and then releases the waiting ones, in order', () => {
      const replay = new MessageReplay(10);
      for (const [name, size] of [
        ['a', 6],
        ['b', 6],
        ['c', 1],
        ['d', 1],
      ] as const)
        replay.add(message(name, size));
      replay.acknowledge(1);
      expect(replay.keptBytes).toBe(8);
      expect(drain(replay)).toEqual(['c', 'd']);
      expect(replay.keptBytes).toBe(8);
      replay.acknowledge(4);
      expect(replay.keptBytes).toBe(0);
      expect(replay.add(message('e'))).toBe(true);
    });

    it('caps an acknowledgement beyond what was sent: messages that never left are kept', () => {
      const replay = new MessageReplay(1);
      replay.add(message('a', 2)); // sent, and the window is now closed
      replay.add(message('b', 2));
      replay.add(message('c', 2));
      replay.acknowledge(1000);
      expect(replay.keptBytes).toBe(4);
      expect(drain(replay)).toEqual(['b.']);
      // An ack of what is already gone, or of nothing yet, changes nothing.
      replay.acknowledge(1);
      replay.acknowledge(0);
      expect(replay.keptBytes).toBe(4);
      expect(drain(replay)).toEqual([]);
    });

    it('replays every unacknowledged message on a new transport and announces the first id it holds', () => {
      const replay = new MessageReplay(1000);
      for (const name of ['m1', 'm2', 'm3', 'm4']) expect(replay.add(message(name))).toBe(true);
      replay.acknowledge(2);
      expect(replay.rewind()).toBe(3);
      expect(drain(replay)).toEqual(['m3', 'm4']);
      // Messages written after the re-attach follow the replay and keep counting from 5.
      expect(replay.add(message('m5'))).toBe(true);
      replay.acknowledge(4);
      expect(replay.rewind()).toBe(5);
      expect(drain(replay)).toEqual(['m5']);
    });

    it('announces the next id to assign when nothing is kept', () => {
      const replay = new MessageReplay(1000);
      expect(replay.rewind()).toBe(1);
      replay.add(message('m1'));
      replay.add(message('m2'));
      expect(drain(replay)).toEqual([]); // both went out as they were added
      replay.acknowledge(2);
      expect(replay.rewind()).toBe(3);
      expect(drain(replay)).toEqual([]);
    });

    it('replays within the window: a rewind hands out only what the limit allows until acks come', () => {
      const replay = new MessageReplay(5);
      for (const name of ['a', 'b', 'c']) replay.add(message(name, 4));
      expect(replay.rewind()).toBe(1);
      expect(drain(replay)).toEqual(['a...', 'b...']); // 4 <= 5 after the first, 8 > 5 after the second
      replay.acknowledge(2);
      expect(drain(replay)).toEqual(['c...']);
    });

    it('keeps ids and contents right across the compaction of a long acknowledged head', () => {
      const replay = new MessageReplay(1_000_000);
      for (let i = 1; i <= 3000; i++) replay.add(message(`m${i}`));
      replay.acknowledge(2500); // well past the point where the kept array is compacted
      expect(replay.keptBytes).toBe(500 * 5);
      expect(replay.rewind()).toBe(2501);
      const replayed = drain(replay);
      expect(replayed).toHaveLength(500);
      expect(replayed[0]).toBe('m2501');
      expect(replayed[499]).toBe('m3000');
      replay.acknowledge(3000);
      expect(replay.keptBytes).toBe(0);
      expect(replay.rewind()).toBe(3001);
    });
  });

  describe('inbound', () => {
    it('accepts every message before a re-attach and acknowledges the latest sequenced one once', () => {
      const replay = new MessageReplay(1000);
      expect(replay.takeAck()).toBe(0);
      expect(replay.accepts(MessageType.Ping)).toBe(true);
      expect(replay.takeAck()).toBe(0); // a ping is not sequenced
      expect(replay.accepts(MessageType.Invocation)).toBe(true);
      expect(replay.accepts(MessageType.StreamItem)).toBe(true);
      expect(replay.accepts(MessageType.Completion)).toBe(true);
      expect(replay.takeAck()).toBe(3);
      expect(replay.takeAck()).toBe(0);
      expect(replay.accepts(MessageType.CancelInvocation)).toBe(true);
      expect(replay.takeAck()).toBe(4);
    });

    it('after a re-attach ignores everything until the Sequence message, then drops what it already processed', () => {
      const replay = new MessageReplay(1000);
      for (let i = 0; i < 3; i++) replay.accepts(MessageType.Invocation);
      replay.takeAck();
      replay.rewind();
      expect(replay.accepts(MessageType.Invocation)).toBe(false);
      expect(replay.accepts(MessageType.Ping)).toBe(false);
      expect(replay.accepts(MessageType.Sequence)).toBe(true);
      expect(replay.resetSequence(2)).toBe(true);
      // The client replays ids 2 and 3 (already processed) and then sends 4.
      expect([MessageType.Invocation, MessageType.Invocation, MessageType.Invocation].map((type) => replay.accepts(type))).toEqual([false, false, true]);
      expect(replay.accepts(MessageType.Ping)).toBe(true);
      expect(replay.takeAck()).toBe(4);
    });

    it('refuses a Sequence that starts beyond the next id the client could have sent', () => {
      const replay = new MessageReplay(1000);
      replay.accepts(MessageType.Invocation);
      replay.accepts(MessageType.Invocation);
      expect(replay.resetSequence(4)).toBe(false);
      expect(replay.resetSequence(3)).toBe(true);
      expect(replay.accepts(MessageType.Invocation)).toBe(true);
      expect(replay.takeAck()).toBe(3);
    });
  });
});
