/**
 * Errors that carry the .NET type name the official client must see: with detailed errors on,
 * nestjs-signalr prints an error as `${error.name}: ${error.message}`, as ASP.NET Core prints
 * `${exception.GetType().Name}: ${exception.Message}`.
 */
export class InvalidOperationException extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidOperationException';
  }
}

/** What .NET's `int.Parse(null)` throws (GetNumRedirects on a connection made without the query value). */
export class ArgumentNullException extends Error {
  constructor(parameter: string) {
    super(`Value cannot be null. (Parameter '${parameter}')`);
    this.name = 'ArgumentNullException';
  }
}
