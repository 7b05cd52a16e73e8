/** Something that buffers writes and can push them out in one go. */
export interface Flushable {
  flush(): void;
}

const dirty: Flushable[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  // Index loop: a flush may not add entries, but keep it cheap and allocation-free.
  for (let i = 0; i < dirty.length; i++) dirty[i].flush();
  dirty.length = 0;
}

/**
 * Queues a connection for one write at the end of the current tick, so every message sent to it in
 * this tick leaves in a single transport message. One scheduled callback serves all connections.
 */
export function scheduleFlush(target: Flushable): void {
  dirty.push(target);
  if (!scheduled) {
    scheduled = true;
    process.nextTick(flushAll);
  }
}
