import type { ErrorCode } from './codes.js';

export interface NudgeErrorOptions {
  /** Whether repeating the same operation may succeed. Retry loops ask this, never the message. */
  retriable?: boolean;
  cause?: unknown;
}

/** The one error root: every error nudge raises on purpose is a NudgeError with a stable code. */
export class NudgeError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: NudgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A setting is wrong. `key` is the dotted path; `allowed` says what would be accepted. */
export class ConfigError extends NudgeError {
  readonly key: string;
  readonly allowed: string;

  constructor(key: string, message: string, allowed: string, options: NudgeErrorOptions = {}) {
    super('NUDGE_ERR_CONFIG', `${key}: ${message} (allowed: ${allowed})`, options);
    this.key = key;
    this.allowed = allowed;
  }
}

/** A record could not be decoded or validated; it goes to the dead-letter topic with this code. */
export class RecordError extends NudgeError {
  /** Dotted path of the offending field, when one is to blame. */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, field?: string, options: NudgeErrorOptions = {}) {
    super(code, message, options);
    this.field = field;
  }
}

/** Something failed for one partition (state, restore, commit); carries its coordinates. */
export class PartitionError extends NudgeError {
  readonly topic: string | undefined;
  readonly partition: number;

  constructor(code: ErrorCode, message: string, partition: number, topic?: string, options: NudgeErrorOptions = {}) {
    super(code, message, options);
    this.partition = partition;
    this.topic = topic;
  }
}

export function isNudgeError(err: unknown): err is NudgeError {
  return err instanceof NudgeError;
}

/** The message of any thrown value, for logs: programming errors are not always Errors. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
