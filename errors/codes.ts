/**
 * Stable error codes. Metrics labels and dead-letter records carry these strings,
 * so a code never changes meaning once released; add new ones instead.
 */
export const ErrorCodes = {
  // Configuration: the process exits with status 2.
  CONFIG: 'NUDGE_ERR_CONFIG',
  PARTITION_MISMATCH: 'NUDGE_ERR_PARTITION_MISMATCH',

  // Decoding and validation of input records: dead-lettered, the partition carries on.
  EMPTY_VALUE: 'NUDGE_ERR_EMPTY_VALUE',
  RECORD_TOO_LARGE: 'NUDGE_ERR_RECORD_TOO_LARGE',
  UNKNOWN_CONTENT_TYPE: 'NUDGE_ERR_UNKNOWN_CONTENT_TYPE',
  INVALID_UTF8: 'NUDGE_ERR_INVALID_UTF8',
  MALFORMED_JSON: 'NUDGE_ERR_MALFORMED_JSON',
  MALFORMED_MSGPACK: 'NUDGE_ERR_MALFORMED_MSGPACK',
  NOT_AN_OBJECT: 'NUDGE_ERR_NOT_AN_OBJECT',
  MISSING_FIELD: 'NUDGE_ERR_MISSING_FIELD',
  INVALID_FIELD: 'NUDGE_ERR_INVALID_FIELD',
  MISSING_KEY: 'NUDGE_ERR_MISSING_KEY',
  KEY_MISMATCH: 'NUDGE_ERR_KEY_MISMATCH',
  UNKNOWN_TOPIC: 'NUDGE_ERR_UNKNOWN_TOPIC',

  // Models: a version this build cannot serve (trained on other features) is passed over.
  MODEL_INCOMPATIBLE: 'NUDGE_ERR_MODEL_INCOMPATIBLE',

  // Runtime.
  OPERATOR: 'NUDGE_ERR_OPERATOR',
  STATE: 'NUDGE_ERR_STATE',
  KAFKA: 'NUDGE_ERR_KAFKA',
  FENCED: 'NUDGE_ERR_FENCED',
  SHUTDOWN_TIMEOUT: 'NUDGE_ERR_SHUTDOWN_TIMEOUT',
  CLOSED: 'NUDGE_ERR_CLOSED',
  RESTORE: 'NUDGE_ERR_RESTORE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
