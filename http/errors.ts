import { ErrorCodes } from '../errors/index.js';
import { ApiError } from './replica-api.js';

/**
 * Codes of the HTTP layer's JSON errors (`{"error":{"code","message"}}`), in the same
 * NUDGE_ERR_* namespace as the rest of nudge (and the replica's ApiErrors, which pass
 * through unchanged), so a client sees one vocabulary. Decoding errors reuse the record
 * codes of errors/codes.ts; the HTTP-only ones live here. Never change a meaning.
 */
export const HttpErrorCodes = {
  UNAUTHORIZED: 'NUDGE_ERR_UNAUTHORIZED',
  AUTH_NOT_CONFIGURED: 'NUDGE_ERR_AUTH_NOT_CONFIGURED',
  NOT_FOUND: 'NUDGE_ERR_NOT_FOUND',
  UNKNOWN_USER: 'NUDGE_ERR_UNKNOWN_USER',
  UNKNOWN_PROVIDER: 'NUDGE_ERR_UNKNOWN_PROVIDER',
  METHOD_NOT_ALLOWED: 'NUDGE_ERR_METHOD_NOT_ALLOWED',
  UPGRADE_REQUIRED: 'NUDGE_ERR_UPGRADE_REQUIRED',
  PAYLOAD_TOO_LARGE: 'NUDGE_ERR_PAYLOAD_TOO_LARGE',
  INVALID_CONTENT_LENGTH: 'NUDGE_ERR_INVALID_CONTENT_LENGTH',
  MALFORMED_JSON: ErrorCodes.MALFORMED_JSON,
  INVALID_UTF8: ErrorCodes.INVALID_UTF8,
  NOT_AN_OBJECT: ErrorCodes.NOT_AN_OBJECT,
  MISSING_FIELD: ErrorCodes.MISSING_FIELD,
  INVALID_FIELD: ErrorCodes.INVALID_FIELD,
  NOT_READY: 'NUDGE_ERR_NOT_READY',
  NOT_ALIVE: 'NUDGE_ERR_NOT_ALIVE',
  SHUTTING_DOWN: 'NUDGE_ERR_SHUTTING_DOWN',
  TIMEOUT: 'NUDGE_ERR_TIMEOUT',
  INTERNAL: 'NUDGE_ERR_INTERNAL',
} as const;

export type HttpErrorCode = (typeof HttpErrorCodes)[keyof typeof HttpErrorCodes];

/** An error answered to the client as JSON with this status. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Close the connection after answering: the rest of the request is not worth reading. */
  readonly closeConnection: boolean;

  constructor(status: number, code: string, message: string, options: { headers?: Record<string, string>; closeConnection?: boolean } = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
    this.closeConnection = options.closeConnection ?? false;
  }
}

/** The client went away; there is nobody left to answer. Never sent, only unwinds a handler. */
export class ClientAbortedError extends Error {
  constructor() {
    super('client aborted the request');
    this.name = 'ClientAbortedError';
  }
}

/**
 * What to answer for any thrown value. `expected` is false for programming errors and
 * unknown failures: those are logged, and the client gets a generic 500 that leaks nothing.
 */
export function toHttpError(err: unknown): { error: HttpError; expected: boolean } {
  if (err instanceof HttpError) return { error: err, expected: true };
  if (err instanceof ApiError) {
    const status = Number.isInteger(err.status) && err.status >= 400 && err.status <= 599 ? err.status : 500;
    return { error: new HttpError(status, err.code, err.message), expected: status < 500 };
  }
  return { error: new HttpError(500, HttpErrorCodes.INTERNAL, 'internal error'), expected: false };
}

export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** uWS wants the whole status line ("404 Not Found"), not just the number. */
export function statusLine(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? 'Status'}`;
}
