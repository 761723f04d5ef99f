import { errorMessage } from '../errors/index.js';
import type { Logger } from './logger.js';

/**
 * A side effect an operator asks for (a provider call): recorded in the partition's
 * outbox in the same commit as the decision that made it, performed only after that
 * commit, and resolved by a later commit of its outcome. The send ledger of DESIGN.md.
 */
export interface Effect<P = unknown> {
  id: string;
  kind: string;
  /** Operator that asked for it; outcomes go back to it. */
  owner: string;
  payload: P;
  /** How many times it has been handed to a handler (recoveries add one). */
  dispatches: number;
}

/** What a handler reports when it is done with an effect (after its own retries). */
export type EffectOutcome = Record<string, unknown>;

/** Performs effects of one kind (a sink). The only place that talks to the outside. */
export interface EffectHandler {
  readonly kind: string;
  run(effect: Effect, signal: AbortSignal): Promise<EffectOutcome>;
  /**
   * Feedback from the operators for the sinks' own bookkeeping (delivery receipts feeding a
   * provider's health). Statistical and advisory: called after the batch that raised it
   * commits, never persisted, and a redelivered batch may raise it again.
   */
  observe?(signal: Signal): void;
}

/** Feedback for sinks raised by an operator with `ctx.signal()`. */
export interface Signal {
  kind: string;
  payload: unknown;
}

export interface EffectRunnerOptions {
  handlers: readonly EffectHandler[];
  /** Effects waiting or in flight per partition above which the partition is paused. */
  highWater: number;
  /** … and below which it resumes. */
  lowWater: number;
  concurrency: number;
  log: Logger;
  onOutcome: (partition: number, effect: Effect, outcome: EffectOutcome) => void;
  onPressure: (partition: number, paused: boolean) => void;
}

interface Queued {
  partition: number;
  effect: Effect;
}

/**
 * Runs effects with bounded concurrency and a bounded backlog per partition: when a
 * partition's backlog reaches the high-water mark it is paused at the source (no more
 * fetching, no more timers) until it drains, so a slow provider never grows memory.
 */
export class EffectRunner {
  readonly #opts: EffectRunnerOptions;
  readonly #handlers = new Map<string, EffectHandler>();
  // A queue with a head index: Array.shift() is linear once arrays grow past V8's fast path
  // (measured ~15 µs per shift at 16k entries).
  #queue: Queued[] = [];
  #head = 0;
  readonly #backlog = new Map<number, number>();
  readonly #paused = new Set<number>();
  /**
   * One controller per call in flight, aborted together by close(). Not one signal shared by
   * every call: undici adds a listener per request to the signal it is given, and an
   * EventTarget checks each new listener against the ones already there and searches the list
   * to remove one, so with hundreds of calls in flight each request paid for all the others
   * (addEventListener was 4.6% of the send path's CPU at 512 in flight).
   */
  readonly #calls = new Set<AbortController>();
  #closed = false;
  #running = 0;
  #idle: Array<() => void> = [];

  constructor(opts: EffectRunnerOptions) {
    this.#opts = opts;
    for (const h of opts.handlers) this.#handlers.set(h.kind, h);
  }

  hasHandler(kind: string): boolean {
    return this.#handlers.has(kind);
  }

  backlog(partition: number): number {
    return this.#backlog.get(partition) ?? 0;
  }

  isPaused(partition: number): boolean {
    return this.#paused.has(partition);
  }

  get inFlight(): number {
    return this.#running + this.#queue.length - this.#head;
  }

  submit(partition: number, effects: readonly Effect[]): void {
    for (const effect of effects) this.#queue.push({ partition, effect });
    const n = this.backlog(partition) + effects.length;
    this.#backlog.set(partition, n);
    if (n >= this.#opts.highWater && !this.#paused.has(partition)) {
      this.#paused.add(partition);
      this.#opts.onPressure(partition, true);
    }
    this.#pump();
  }

  /** Hands committed signals to every handler that observes them; a failing observer is logged, never fatal. */
  observe(signals: readonly Signal[]): void {
    for (const handler of this.#handlers.values()) {
      if (handler.observe === undefined) continue;
      for (const s of signals) {
        try {
          handler.observe(s);
        } catch (err) {
          this.#opts.log.warn({ err: errorMessage(err), kind: handler.kind, signal: s.kind }, 'sink failed to observe a signal');
        }
      }
    }
  }

  /** Resolves when nothing is queued or running. */
  async drained(): Promise<void> {
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Stops starting new effects and aborts running ones; their outcomes are not reported. */
  close(): void {
    this.#queue = [];
    this.#head = 0;
    this.#closed = true;
    for (const call of this.#calls) call.abort();
    this.#calls.clear();
  }

  #pump(): void {
    while (this.#running < this.#opts.concurrency && this.#head < this.#queue.length) {
      const next = this.#queue[this.#head++] as Queued;
      // Drop the consumed prefix now and then, so the array does not grow without bound.
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#running++;
      void this.#run(next).finally(() => {
        this.#running--;
        const left = this.backlog(next.partition) - 1;
        this.#backlog.set(next.partition, left);
        if (left <= this.#opts.lowWater && this.#paused.delete(next.partition)) this.#opts.onPressure(next.partition, false);
        this.#pump();
        if (this.inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
      });
    }
  }

  async #run({ partition, effect }: Queued): Promise<void> {
    const handler = this.#handlers.get(effect.kind);
    let outcome: EffectOutcome;
    if (handler === undefined) {
      outcome = { status: 'dropped', error: { code: 'NUDGE_ERR_NO_SINK', message: `no handler for ${effect.kind} effects` } };
    } else {
      const call = new AbortController();
      this.#calls.add(call);
      try {
        outcome = await handler.run(effect, call.signal);
      } catch (err) {
        if (this.#closed) return;
        // A handler that throws has a bug; the effect is resolved as dropped rather than retried forever.
        this.#opts.log.error({ err: errorMessage(err), kind: effect.kind, id: effect.id }, 'effect handler failed');
        outcome = { status: 'dropped', error: { code: 'NUDGE_ERR_SINK', message: errorMessage(err) } };
      } finally {
        this.#calls.delete(call);
      }
    }
    if (this.#closed) return;
    this.#opts.onOutcome(partition, effect, outcome);
  }
}
