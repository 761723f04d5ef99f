import { ConfigError, NudgeError } from '../errors/index.js';

/** Exit statuses of CONTRACT.md: 0 success, 2 configuration error, 1 anything else. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ConfigError) return 2;
  if (err instanceof NudgeError && (err.code === 'NUDGE_ERR_CONFIG' || err.code === 'NUDGE_ERR_PARTITION_MISMATCH')) return 2;
  return 1;
}
