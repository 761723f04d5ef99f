/**
 * Cooperative yielding for long batches. A batch is a chain of promises that are mostly
 * resolved at once (the state reads are synchronous LMDB reads), so it holds the thread's event
 * loop from its first record to its last: in the demo's decide phase, the loop's delay
 * (monitorEventLoopDelay) averaged 0.8 s and reached 1.9 s. Meanwhile nothing else on the thread ran: not the providers' HTTP
 * responses, whose timeouts kept counting, not the HTTP API, not the consumer's heartbeats.
 * Batches call `turn()` between records; once the loop has been held for SLICE_MS, it waits for
 * one turn of the loop, so that timers and I/O run, then goes on.
 */

/** How long a batch may hold the event loop before it lets it turn. */
export const SLICE_MS = 20;

let heldSince = performance.now();

const resume = (done: () => void) => {
  heldSince = performance.now();
  done();
};

/**
 * Undefined while the loop has been held for less than SLICE_MS (the caller goes on without
 * awaiting, which costs nothing); else a promise that resolves after the loop's next I/O phase.
 * setImmediate, not setTimeout(0): its callback runs after the poll phase, so pending I/O is
 * read before the batch resumes.
 */
export function turn(): Promise<void> | undefined {
  if (performance.now() - heldSince < SLICE_MS) return undefined;
  return new Promise<void>((done) => setImmediate(resume, done));
}
