import { HttpException, HttpStatus } from '@nestjs/common';
import { InvocationTexts } from '../signalr.messages.js';
import { HubException } from './hub-exception.js';

/** What the client sees for an error of a hub method, and whether the server should log it. */
export interface InvocationError {
  text: string;
  /** Errors meant for the client (refusals, validation, HubException) are not logged. */
  expected: boolean;
}

/** The message of an HttpException's response: ValidationPipe lists its messages in an array. */
function httpMessage(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join(', ');
  return typeof message === 'string' ? message : error.message;
}

/** A WsException's client-safe message (duck-typed, so @nestjs/websockets stays optional). */
function wsExceptionMessage(error: unknown): string | null {
  const candidate = error as { getError?: () => unknown; constructor?: { name?: string } };
  if (typeof candidate?.getError !== 'function' || candidate.constructor?.name !== 'WsException') return null;
  const payload = candidate.getError();
  if (typeof payload === 'string') return payload;
  const message = (payload as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : JSON.stringify(payload);
}

/**
 * Maps an error to ASP.NET Core's texts: a refused guard (or any 401/403) is "unauthorized"; a
 * HubException, a validation failure (400) or a WsException reaches the client as a HubException
 * with its message; anything else is the generic text (with the detail when detailed errors are on).
 */
export function describeInvocationError(target: string, error: unknown, detailed: boolean): InvocationError {
  if (error instanceof HubException) {
    return { text: InvocationTexts.failed(target, error, detailed, true), expected: true };
  }
  if (error instanceof HttpException) {
    const status: HttpStatus = error.getStatus();
    if (status === HttpStatus.UNAUTHORIZED || status === HttpStatus.FORBIDDEN) {
      return { text: InvocationTexts.unauthorized(target), expected: true };
    }
    if (status === HttpStatus.BAD_REQUEST) {
      return { text: InvocationTexts.failed(target, new HubException(httpMessage(error)), detailed, true), expected: true };
    }
  }
  const wsMessage = wsExceptionMessage(error);
  if (wsMessage !== null) {
    return { text: InvocationTexts.failed(target, new HubException(wsMessage), detailed, true), expected: true };
  }
  return { text: InvocationTexts.failed(target, error, detailed, false), expected: false };
}

/**
 * A stream item the connection's hub protocol could not write; `cause` is the encoder's error. Kept
 * apart from the producer's own errors, which are logged with their stack.
 */
export class StreamItemNotSerialized extends Error {
  constructor(override readonly cause: unknown) {
    super('A stream item could not be serialized.');
    this.name = 'StreamItemNotSerialized';
  }
}
