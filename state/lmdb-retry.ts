/**
 * lmdb-js bundles a patched LMDB whose free-space bookkeeping now and then fails a commit with
 * MDB_BAD_TXN ("reserved freelist had a data entry with zero-size, last id N"): an upstream bug,
 * seen here once every few long write-heavy simulations and not reproducible on demand. The
 * failed transaction is aborted whole and lmdb-js reloads its free list from disk, so running
 * the same writes again is safe. Without a retry, one such commit failed a partition's batch and,
 * in the simulator, the process.
 */

/** LMDB's MDB_BAD_TXN status. */
export const MDB_BAD_TXN = -30782;

/** Attempts in all before the error is passed on: the bug has never hit twice in a row. */
export const BAD_TXN_ATTEMPTS = 3;

export function isBadTxn(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === MDB_BAD_TXN;
}

/** Runs `commit`; again, up to `attempts` in all, while it fails with MDB_BAD_TXN. Other errors pass at once. */
export function retryBadTxn<T>(commit: () => T, attempts = BAD_TXN_ATTEMPTS, onRetry?: (err: unknown, attempt: number) => void): T {
  for (let attempt = 1; ; attempt++) {
    try {
      return commit();
    } catch (err) {
      if (!isBadTxn(err) || attempt >= attempts) throw err;
      onRetry?.(err, attempt);
    }
  }
}
