/**
 * The functional tests' ComplexObject (PascalCase keys in .NET's declaration order, as the ASP.NET Core
 * app serializes with `PropertyNamingPolicy = null`). Its bytes and date must come back as .NET writes a `byte[]` and a
 * UTC `DateTime`: base64 and `2002-04-01T10:20:15Z` in JSON, bin and the timestamp extension in
 * MessagePack.
 */
export interface ComplexObject {
  String: string;
  IntArray: number[];
  ByteArray: Buffer;
  Guid: string;
  DateTime: Date;
}

/**
 * A UTC DateTime: a Date (so MessagePack writes the timestamp extension) whose JSON form is .NET's
 * round-trip format (fractional seconds without trailing zeros, none when zero).
 */
export class UtcDateTime extends Date {
  override toJSON(): string {
    // .NET trims trailing zeros of the fraction, and the fraction itself when nothing is left.
    return this.toISOString().replace(/\.(\d*?)0*Z$/, (_, digits: string) => (digits ? `.${digits}Z` : 'Z'));
  }
}

/** A ComplexObject as either protocol delivered it: bytes as base64 text (JSON) or bin (MessagePack), the date as text or a Date. */
export interface ReceivedComplexObject {
  String: string;
  IntArray: number[];
  ByteArray: string | Uint8Array;
  Guid: string;
  DateTime: string | Date;
}

/** Binds what the client sent to the .NET types, as ASP.NET Core's deserializer does. */
export function toComplexObject(value: ReceivedComplexObject): ComplexObject {
  const bytes = value.ByteArray;
  return {
    String: value.String,
    IntArray: value.IntArray,
    ByteArray: typeof bytes === 'string' ? Buffer.from(bytes, 'base64') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    Guid: value.Guid,
    DateTime: new UtcDateTime(value.DateTime instanceof Date ? value.DateTime.getTime() : Date.parse(value.DateTime)),
  };
}

/** What `SendComplexObject` returns. */
export function sampleComplexObject(): ComplexObject {
  return {
    String: 'hello world',
    IntArray: [1, 2, 3],
    ByteArray: Buffer.from([1, 2, 3]),
    Guid: '00010203-0405-0607-0706-050403020100',
    DateTime: new UtcDateTime(Date.UTC(2000, 0, 1)),
  };
}
