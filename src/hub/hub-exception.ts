/**
 * An error whose message is meant for the client. Thrown from a hub method, its message reaches the
 * caller even with detailed errors off, as with ASP.NET Core's HubException.
 *
 * @example
 * if (!room) throw new HubException(`Room '${name}' does not exist.`);
 * // client: "An unexpected error occurred invoking 'Join' on the server. HubException: Room 'x' does not exist."
 */
export class HubException extends Error {
  constructor(message?: string) {
    super(message ?? 'An error occurred.');
    this.name = 'HubException';
  }
}
