import { MAX_NESTING_DEPTH, nestingTooDeep } from './nesting-depth.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/** Bytes of a string read one by one before the rest is searched natively (short strings are the common case). */
const SHORT_STRING = 16;

/**
 * Refuses a JSON record nested deeper than MAX_NESTING_DEPTH before JSON.parse builds it: V8 parses
 * any depth (100k nested `[` become 100k arrays) and the hub would then hold a value that
 * JSON.stringify cannot write back. Every level takes an opening and a closing bracket, so a record
 * of at most 2 × MAX_NESTING_DEPTH bytes cannot be too deep (or is not JSON, which JSON.parse refuses
 * at a cost bounded by those few bytes): the common small message costs one comparison. Longer ones
 * are scanned once, strings skipped (UTF-8 continuation bytes never equal an ASCII bracket or quote).
 */
export function checkJsonDepth(buffer: Uint8Array, start: number, end: number): void {
  if (end - start <= 2 * MAX_NESTING_DEPTH) return;
  let depth = 0;
  for (let i = start; i < end; i++) {
    const byte = buffer[i];
    if (byte === QUOTE) {
      i = closingQuote(buffer, i + 1, end);
      if (i === -1) return; // an unterminated string: JSON.parse reports it
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > MAX_NESTING_DEPTH) throw nestingTooDeep();
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--;
    }
  }
}

/** Where the string starting at `from` ends (its closing quote), or -1 when it does not end before `end`. */
function closingQuote(buffer: Uint8Array, from: number, end: number): number {
  let i = from;
  const stop = Math.min(end, from + SHORT_STRING);
  for (; i < stop; i++) {
    const byte = buffer[i];
    if (byte === BACKSLASH) i++;
    else if (byte === QUOTE) return i;
  }
  // A long string (text, base64): a native search per quote, which is escaped when an odd run of backslashes precedes it.
  for (;;) {
    const quote = buffer.indexOf(QUOTE, i);
    if (quote === -1 || quote >= end) return -1;
    let before = quote - 1;
    while (before >= from && buffer[before] === BACKSLASH) before--;
    if (((quote - 1 - before) & 1) === 0) return quote;
    i = quote + 1;
  }
}
