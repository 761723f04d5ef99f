/** The only source of time for operators: injected, so tests and the simulator can fast-forward it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to. */
export class VirtualClock implements Clock {
  #now: number;
  constructor(start = 0) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  set(ms: number): void {
    if (ms < this.#now) throw new RangeError(`virtual time cannot go backwards (${ms} < ${this.#now})`);
    this.#now = ms;
  }
  advance(ms: number): number {
    this.set(this.#now + ms);
    return this.#now;
  }
}
