import type { Campaign } from './messages/index.js';
import type { KeyValueStore } from '../state/key-value-store.js';
import type { StoreDeclaration } from '../state/partition-state.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { Effect, EffectOutcome } from './effects.js';
import type { InputRecord, InputRole, OutputRecord } from './record.js';

/** A durable timer, kept in the partition's state until it fires or is cancelled. */
export interface Timer<P = unknown> {
  id: string;
  at: number;
  /** The operator that scheduled it, and that its firing goes back to. */
  owner: string;
  payload: P;
}

/** The campaigns table: every replica holds all of it; operators only read it. */
export interface CampaignTable {
  get(campaignId: string): Campaign | undefined;
  readonly size: number;
  /** Increases on every change, so operators can tell when to look again. */
  readonly version: number;
  values(): IterableIterator<Campaign>;
}

/**
 * What an operator may use. It never reads the wall clock, opens a socket or knows
 * whether Kafka or the embedded log feeds it: time, state and output all come through here.
 */
export interface OperatorContext {
  readonly partition: number;
  /** Partitions of the user-keyed topics: budgets and rates are split across them. */
  readonly partitionCount: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly campaigns: CampaignTable;
  store<V>(name: string): KeyValueStore<V>;
  /** Emits an output record; it is committed with the batch, or dropped with it. */
  forward(output: OutputRecord): void;
  /** Schedules (or moves) the timer `id` to fire at `at`; it fires through `onTimer` of this operator. */
  schedule<P>(id: string, at: number, payload: P): Promise<void>;
  /** Returns whether a timer was pending. */
  cancel(id: string): Promise<boolean>;
  getTimer<P>(id: string): Promise<Timer<P> | undefined>;
  /**
   * Asks for a side effect (a provider call). It is written to the partition's outbox with
   * this batch and performed only after the batch commits; its outcome comes back through
   * `onOutcome` in a later batch.
   */
  effect<P>(id: string, kind: string, payload: P): void;
  /**
   * Tells the sinks something they may learn from (a delivery receipt for a provider's
   * health). Handed over after this batch commits; dropped with it if it rolls back.
   */
  signal(kind: string, payload: unknown): void;
  /**
   * Lets the thread's event loop turn (I/O, timers) once a batch has held it for a while, or
   * returns undefined at once: for an operator's own long loops, such as `prepare` over a batch
   * (processor/event-loop-turn.ts). The task calls it between records itself.
   */
  turn?(): Promise<void> | undefined;
}

export interface Operator {
  readonly name: string;
  /** Input topics this operator reads. */
  readonly inputs: readonly InputRole[];
  init?(ctx: OperatorContext): Promise<void> | void;
  /**
   * Sees a batch's decoded records of this operator's inputs before any is processed, so
   * that work cheaper in bulk (a model call) can be done once. Read-only: it must not write
   * state, forward, schedule or ask for effects, and a failure only costs the batch that
   * head start (it is logged and the records are processed as usual).
   */
  prepare?(records: readonly InputRecord[], ctx: OperatorContext): Promise<void> | void;
  process(record: InputRecord, ctx: OperatorContext): Promise<void> | void;
  onTimer?(timer: Timer, ctx: OperatorContext): Promise<void> | void;
  /** The outcome of an effect this operator asked for; the outbox entry is removed in the same batch. */
  onOutcome?(effect: Effect, outcome: EffectOutcome, ctx: OperatorContext): Promise<void> | void;
  /**
   * An effect found unresolved when the partition starts (the replica died between asking
   * and hearing back). 'redispatch' performs it again; 'drop' resolves it now.
   */
  onRecover?(effect: Effect, ctx: OperatorContext): Promise<'redispatch' | 'drop'> | 'redispatch' | 'drop';
  /** Idempotent. */
  close?(): Promise<void> | void;
}

/** The operators and stores of one partition task; a factory makes a fresh one per partition. */
export interface Topology {
  stores: readonly StoreDeclaration[];
  operators: readonly Operator[];
}

export type TopologyFactory = (partition: number) => Topology;
