/** Runs async sections one at a time, in arrival order (a partition's batches, timers and commits). */
export class SerialLock {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(section, section);
    // The chain must survive a failed section; the caller still sees the failure.
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when everything queued so far has finished. */
  idle(): Promise<void> {
    return this.#tail.then(() => undefined);
  }
}
