/**
 * Malformed input from a peer. The name is the .NET exception type that ASP.NET Core reports for the
 * same fault, so detailed error texts match the reference byte for byte.
 */
export class InvalidDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidDataException';
  }
}
