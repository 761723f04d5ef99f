import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from '../config/schema.js';

export type { Logger };

/**
 * Paths pino blanks before a line is written. Phone numbers, push tokens and
 * credentials must never reach a log, whatever object a caller passes in.
 */
export const REDACT_PATHS = [
  'phone',
  '*.phone',
  '*.*.phone',
  'to',
  '*.to',
  'token',
  '*.token',
  '*.*.token',
  'pushTokens',
  '*.pushTokens',
  'password',
  '*.password',
  '*.*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'authToken',
  '*.authToken',
  'apiKey',
  '*.apiKey',
  'privateKey',
  '*.privateKey',
  'secret',
  '*.secret',
];

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'nudge' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
