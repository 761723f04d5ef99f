export { ErrorCodes, type ErrorCode } from './codes.js';
export { NudgeError, ConfigError, RecordError, PartitionError, isNudgeError, errorMessage, type NudgeErrorOptions } from './nudge-error.js';
