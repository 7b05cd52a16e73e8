import { HubException } from '../src/index.js';

/** Longest chat message, room or topic name the sample accepts. */
const MAX_LENGTH = 500;

/**
 * A trimmed, non-empty string, or a HubException whose message the client sees as is
 * ("... HubException: Message must not be empty.").
 */
export function requireText(value: unknown, what: string): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text.length === 0) throw new HubException(`${what} must not be empty.`);
  if (text.length > MAX_LENGTH) throw new HubException(`${what} must be at most ${MAX_LENGTH} characters.`);
  return text;
}
