import { InvalidDataError } from './protocol-errors.js';

/**
 * Nesting allowed in a received record, for both hub protocols: MessagePack-CSharp's untrusted-data
 * default (ASP.NET Core reads MessagePack hub messages with it). The record itself is level 0, its
 * arguments array level 1, so a container at level 500 or deeper is refused.
 */
export const MAX_NESTING_DEPTH = 500;

/** The refusal of a record nested deeper than MAX_NESTING_DEPTH. */
export function nestingTooDeep(): InvalidDataError {
  return new InvalidDataError(`The message exceeds the maximum nesting depth of ${MAX_NESTING_DEPTH}.`);
}
