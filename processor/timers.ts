import type { KeyValueStore } from '../state/key-value-store.js';
import { TIMERS_BY_ID_NAMESPACE, TIMERS_BY_TIME_NAMESPACE, type PartitionState } from '../state/partition-state.js';
import type { Timer } from './operator.js';

/**
 * Durable timers of one partition: an index by due time (to find what is due with one
 * range scan) and one by id (to move or cancel). Both live in the partition's store,
 * so they are committed, changelogged and restored with the rest of its state.
 */
export class TimerStore {
  readonly #byTime: KeyValueStore<Timer>;
  readonly #byId: KeyValueStore<number>;

  constructor(state: PartitionState) {
    this.#byTime = state.systemStore<Timer>('timers-by-time', TIMERS_BY_TIME_NAMESPACE);
    this.#byId = state.systemStore<number>('timers-by-id', TIMERS_BY_ID_NAMESPACE);
  }

  async schedule(timer: Timer): Promise<void> {
    const previous = await this.#byId.get([timer.id]);
    if (previous !== undefined) this.#byTime.delete([previous, timer.id]);
    this.#byTime.put([timer.at, timer.id], timer);
    this.#byId.put([timer.id], timer.at);
  }

  async get(id: string): Promise<Timer | undefined> {
    const at = await this.#byId.get([id]);
    return at === undefined ? undefined : this.#byTime.get([at, id]);
  }

  async cancel(id: string): Promise<boolean> {
    const at = await this.#byId.get([id]);
    if (at === undefined) return false;
    this.#byTime.delete([at, id]);
    this.#byId.delete([id]);
    return true;
  }

  /** Timers due at or before `now`, earliest first, at most `limit`; each is removed as it is taken. */
  async takeDue(now: number, limit: number): Promise<Timer[]> {
    const due: Timer[] = [];
    // Upper bound [now + 1] is exclusive, so everything at `now` is included whatever its id.
    for await (const [, timer] of this.#byTime.scan({ gte: [Number.MIN_SAFE_INTEGER], lt: [now + 1], limit })) due.push(timer);
    for (const timer of due) {
      this.#byTime.delete([timer.at, timer.id]);
      this.#byId.delete([timer.id]);
    }
    return due;
  }

  /** The earliest pending due time, if any. */
  async next(): Promise<number | undefined> {
    for await (const [, timer] of this.#byTime.scan({ limit: 1 })) return timer.at;
    return undefined;
  }
}
