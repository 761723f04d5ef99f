import { errorMessage, isNudgeError, RecordError, ErrorCodes, type ErrorCode } from '../errors/index.js';
import type { WriteOp } from '../state/bytes-store.js';
import type { Checkpoint, PartitionState } from '../state/partition-state.js';
import type { Clock } from './clock.js';
import type { Effect, EffectOutcome, Signal } from './effects.js';
import { OUTBOX_NAMESPACE } from '../state/partition-state.js';
import type { KeyValueStore } from '../state/key-value-store.js';
import { deadLetter } from './dead-letter.js';
import { decodeRecord } from './decode.js';
import type { Logger } from './logger.js';
import type { ProcessorMetrics } from './metrics.js';
import type { CampaignTable, Operator, OperatorContext, Timer, Topology } from './operator.js';
import { encodeOutput, type OutputFormat } from './output-encoding.js';
import type { EncodedOutput, InputRecord, InputRole, OutputRecord, RawRecord } from './record.js';
import { SerialLock } from './serial-lock.js';
import { turn } from './event-loop-turn.js';
import { TimerStore } from './timers.js';
import type { TopicNames } from './topic-names.js';

export interface TaskLimits {
  maxRecordBytes: number;
  deadLetterValueBytes: number;
  outputFormat: OutputFormat;
  /** Timers fired per timer batch, so one tick cannot hold the partition for long. */
  maxTimersPerBatch: number;
}

export interface TaskOptions {
  partition: number;
  partitionCount: number;
  state: PartitionState;
  topology: Topology;
  clock: Clock;
  log: Logger;
  campaigns: CampaignTable;
  metrics: ProcessorMetrics;
  topics: TopicNames;
  limits: TaskLimits;
}

/** What one batch produced, waiting to be committed by the engine and then applied locally. */
export interface BatchResult {
  partition: number;
  kind: 'records' | 'timers' | 'outcomes' | 'recovery';
  outputs: EncodedOutput[];
  /** State changes, in key order: they go to the changelog and then into the local store. */
  ops: WriteOp[];
  checkpoint: Checkpoint;
  /** Next offset per consumed source topic. */
  offsets: Record<string, number>;
  /** Effects recorded in the outbox by this batch, to perform once it has committed. */
  effects: Effect[];
  /** The outputs as the operators emitted them, before encoding: in-process listeners read these rather than decode `outputs`. */
  produced: readonly OutputRecord[];
  /** Feedback for the sinks (ctx.signal), handed over once the batch has committed. */
  signals: Signal[];
  /** Decisions, sends and dead letters by their metric labels, counted before encoding, and the providers' charges (summed, under "c"); applied on commit. */
  tally: Map<string, number>;
  records: number;
  startedAt: number;
}

/**
 * One partition's share of the topology: its operators, its state and its timers.
 * Everything that touches a partition goes through `lock`, so batches, timer firings
 * and commits never interleave.
 */
export class PartitionTask {
  readonly partition: number;
  readonly state: PartitionState;
  readonly lock = new SerialLock();
  readonly log: Logger;
  readonly #opts: TaskOptions;
  readonly #timers: TimerStore;
  readonly #routes = new Map<InputRole, Operator[]>();
  readonly #owners = new Map<string, Operator>();
  readonly #contexts = new Map<Operator, OperatorContext>();
  readonly #queryContexts = new Map<Operator, OperatorContext>();
  #outputs: OutputRecord[] = [];
  #effects: Effect[] = [];
  #signals: Signal[] = [];
  /** Dead letters of the batch by code and topic, counted in the metrics once it has committed. */
  #deadLetterCodes: Array<[ErrorCode, string]> = [];
  readonly #outbox: KeyValueStore<Effect>;
  #closed = false;

  private constructor(opts: TaskOptions) {
    this.#opts = opts;
    this.partition = opts.partition;
    this.state = opts.state;
    this.log = opts.log;
    this.#timers = new TimerStore(opts.state);
    this.#outbox = opts.state.systemStore<Effect>('outbox', OUTBOX_NAMESPACE);
    for (const op of opts.topology.operators) {
      if (this.#owners.has(op.name)) throw new Error(`two operators are named ${op.name}`);
      this.#owners.set(op.name, op);
      this.#contexts.set(op, this.#contextFor(op, false));
      this.#queryContexts.set(op, this.#contextFor(op, true));
      for (const role of op.inputs) {
        const list = this.#routes.get(role) ?? [];
        list.push(op);
        this.#routes.set(role, list);
      }
    }
  }

  static async create(opts: TaskOptions): Promise<PartitionTask> {
    const task = new PartitionTask(opts);
    for (const op of opts.topology.operators) await op.init?.(task.#contexts.get(op) as OperatorContext);
    return task;
  }

  /**
   * An operator and its context, for read-only queries (the eligibility API). Queries run
   * outside the lock: they may see the writes of a batch in flight, never a torn value
   * (their stores read encoded bytes only, never the objects a batch holds).
   */
  query<T extends Operator>(name: string): { operator: T; ctx: OperatorContext } | undefined {
    const op = this.#owners.get(name);
    if (op === undefined) return undefined;
    return { operator: op as T, ctx: this.#queryContexts.get(op) as OperatorContext };
  }

  /** Next offset to process for a source topic, from the state's own checkpoint. */
  position(topic: string): number | undefined {
    return this.state.checkpoint.sources[topic];
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Decodes and processes a batch of one input topic. Records below the checkpoint are
   * already reflected in the state (a redelivery after a crash) and are passed over.
   */
  async processRecords(role: InputRole, topic: string, records: readonly RawRecord[]): Promise<BatchResult | null> {
    const startedAt = performance.now();
    const from = this.position(topic) ?? 0;
    const operators = this.#routes.get(role) ?? [];
    let last = -1;
    let count = 0;
    // Decoded up front so that operators can prepare for the batch as a whole; dead letters
    // still go out in offset order with the rest.
    const decoded: Array<{ raw: RawRecord; record: InputRecord } | { raw: RawRecord; error: unknown }> = [];
    for (const raw of records) {
      if (raw.offset < from) continue;
      try {
        const d = decodeRecord(role, raw, this.#opts.limits);
        decoded.push({ raw, record: { role, topic, partition: raw.partition, offset: raw.offset, key: d.key, value: d.value, timestamp: raw.timestamp } });
      } catch (error) {
        decoded.push({ raw, error });
      }
    }
    const prepared = decoded.flatMap((d) => ('record' in d ? [d.record] : []));
    const prepare = operators.some((op) => op.prepare !== undefined);
    if (prepare) await this.#prepare(operators, prepared, topic);
    // Write-behind for the batch (see KeyValueStore). A record that fails while values are
    // held cannot be undone alone, so the whole batch is thrown away and run again without
    // holding, where each record is undone exactly. Failures are rare; the batches that
    // hold are the common case.
    if (this.state.holdWrites()) {
      const marks = [this.#outputs.length, this.#effects.length, this.#signals.length, this.#deadLetterCodes.length] as const;
      const outcome = await this.#runRecords(operators, decoded, topic, true);
      if (outcome.failed) {
        this.state.dropHeld();
        this.state.writes.discard();
        this.#outputs.length = marks[0];
        this.#effects.length = marks[1];
        this.#signals.length = marks[2];
        this.#deadLetterCodes.length = marks[3];
        // Operators' own memory (the decision operator's population counts) is not rolled
        // back: like an aborted commit, it may count the batch's first records twice.
        if (prepare) await this.#prepare(operators, prepared, topic);
        ({ last, count } = await this.#runRecords(operators, decoded, topic, false));
      } else {
        this.state.releaseHeld();
        ({ last, count } = outcome);
      }
    } else {
      ({ last, count } = await this.#runRecords(operators, decoded, topic, false));
    }
    if (count === 0) return null;
    this.#opts.metrics.recordsIn.inc({ topic, partition: String(this.partition) }, count);
    return this.#finish('records', { [topic]: last + 1 }, count, startedAt);
  }

  /**
   * Processes decoded records in offset order. `holding`: values are held (write-behind),
   * so the first failure stops the run and reports it, to run the batch again without.
   */
  async #runRecords(
    operators: readonly Operator[],
    decoded: ReadonlyArray<{ raw: RawRecord; record: InputRecord } | { raw: RawRecord; error: unknown }>,
    topic: string,
    holding: boolean,
  ): Promise<{ last: number; count: number; failed: boolean }> {
    let last = -1;
    let count = 0;
    for (const entry of decoded) {
      const pause = turn();
      if (pause !== undefined) await pause;
      const raw = entry.raw;
      last = raw.offset;
      count++;
      if (!('record' in entry)) {
        this.#deadLetter(raw, entry.error);
        continue;
      }
      const record = entry.record;
      this.state.writes.savepoint();
      const mark = this.#outputs.length;
      const effectMark = this.#effects.length;
      const signalMark = this.#signals.length;
      try {
        for (const op of operators) await op.process(record, this.#contexts.get(op) as OperatorContext);
        this.state.writes.release();
      } catch (err) {
        if (holding && this.state.holding) return { last, count, failed: true };
        // Undo exactly this record's writes, outputs and effects; the batch and the partition go on.
        this.state.writes.rollback();
        this.#outputs.length = mark;
        this.#effects.length = effectMark;
        this.#signals.length = signalMark;
        this.log.warn({ err: errorMessage(err), offset: raw.offset, topic }, 'operator failed on a record; dead-lettered');
        this.#deadLetter(raw, err, ErrorCodes.OPERATOR);
      }
    }
    return { last, count, failed: false };
  }

  async #prepare(operators: readonly Operator[], records: readonly InputRecord[], topic: string): Promise<void> {
    if (records.length === 0) return;
    for (const op of operators) {
      if (op.prepare === undefined) continue;
      try {
        await op.prepare(records, this.#contexts.get(op) as OperatorContext);
      } catch (err) {
        this.log.warn({ err: errorMessage(err), operator: op.name, topic }, 'operator failed to prepare a batch; processing it without');
      }
    }
  }

  /** Fires timers due by the clock's now. */
  async fireTimers(): Promise<BatchResult | null> {
    const startedAt = performance.now();
    const due = await this.#timers.takeDue(this.#opts.clock.now(), this.#opts.limits.maxTimersPerBatch);
    if (due.length === 0) {
      // takeDue wrote nothing, but keep the invariant that a batch starts with no pending writes.
      return null;
    }
    for (const timer of due) {
      const pause = turn();
      if (pause !== undefined) await pause;
      const op = this.#owners.get(timer.owner);
      if (op?.onTimer === undefined) {
        this.log.error({ owner: timer.owner, id: timer.id }, 'timer has no operator to fire; dropped');
        continue;
      }
      this.state.writes.savepoint();
      const mark = this.#outputs.length;
      const effectMark = this.#effects.length;
      const signalMark = this.#signals.length;
      try {
        await op.onTimer(timer, this.#contexts.get(op) as OperatorContext);
        this.state.writes.release();
      } catch (err) {
        this.state.writes.rollback();
        this.#outputs.length = mark;
        this.#effects.length = effectMark;
        this.#signals.length = signalMark;
        this.log.error({ err: errorMessage(err), owner: timer.owner, id: timer.id }, 'timer handler failed; timer dropped');
      }
    }
    this.#opts.metrics.timersFired.inc(due.length);
    return this.#finish('timers', {}, due.length, startedAt);
  }

  /** Resolves effects with their outcomes: the owner hears of each, and its outbox entry goes, in one batch. */
  async processOutcomes(outcomes: ReadonlyArray<{ effect: Effect; outcome: EffectOutcome }>): Promise<BatchResult | null> {
    const startedAt = performance.now();
    let count = 0;
    for (const { effect, outcome } of outcomes) {
      const pause = turn();
      if (pause !== undefined) await pause;
      // Already resolved (a duplicate report, or recovered as dropped): nothing to do.
      if ((await this.#outbox.get([effect.id])) === undefined) continue;
      const op = this.#owners.get(effect.owner);
      this.state.writes.savepoint();
      const mark = this.#outputs.length;
      const effectMark = this.#effects.length;
      const signalMark = this.#signals.length;
      try {
        await op?.onOutcome?.(effect, outcome, this.#contexts.get(op) as OperatorContext);
        this.state.writes.release();
      } catch (err) {
        this.state.writes.rollback();
        this.#outputs.length = mark;
        this.#effects.length = effectMark;
        this.#signals.length = signalMark;
        this.log.error({ err: errorMessage(err), owner: effect.owner, id: effect.id }, 'outcome handler failed; effect resolved without it');
      }
      this.#outbox.delete([effect.id]);
      count++;
    }
    if (count === 0) return null;
    return this.#finish('outcomes', {}, count, startedAt);
  }

  /**
   * Effects left in the outbox by a previous owner or a crash: each owner decides whether
   * to perform it again or resolve it now (DESIGN invariant 4: promotional SMS at most once).
   */
  async recoverEffects(): Promise<BatchResult | null> {
    const startedAt = performance.now();
    const found: Effect[] = [];
    for await (const [, effect] of this.#outbox.scan()) found.push(effect);
    if (found.length === 0) return null;
    for (const effect of found) {
      const op = this.#owners.get(effect.owner);
      let verdict: 'redispatch' | 'drop' = 'drop';
      try {
        verdict = (await op?.onRecover?.(effect, this.#contexts.get(op) as OperatorContext)) ?? 'drop';
      } catch (err) {
        this.log.error({ err: errorMessage(err), id: effect.id }, 'recovery handler failed; effect dropped');
      }
      if (verdict === 'redispatch') {
        const again = { ...effect, dispatches: effect.dispatches + 1 };
        this.#outbox.put([effect.id], again);
        this.#effects.push(again);
      } else {
        this.#outbox.delete([effect.id]);
      }
    }
    return this.#finish('recovery', {}, found.length, startedAt);
  }

  /** The earliest pending timer, so the runtime can sleep until then. */
  nextTimer(): Promise<number | undefined> {
    return this.#timers.next();
  }

  /** Applies a committed batch to the local store (the engine has already made it durable). */
  async applyCommitted(result: BatchResult, changelogNext?: number): Promise<void> {
    const checkpoint = changelogNext === undefined ? result.checkpoint : { ...result.checkpoint, changelogNext };
    await this.state.apply(result.ops, checkpoint);
    this.#opts.metrics.batchSeconds.observe({ kind: result.kind }, (performance.now() - result.startedAt) / 1000);
    this.#opts.metrics.batchRecords.observe({ kind: result.kind }, result.records);
    for (const [key, n] of result.tally) {
      const [what, a, b] = key.split('\u0000') as [string, string, string];
      if (what === 'd') this.#opts.metrics.decisions.inc({ action: a, reason: b }, n);
      else if (what === 'x') this.#opts.metrics.deadLetters.inc({ code: a, topic: b }, n);
      else if (what === 'c') this.#opts.metrics.providerCost.inc({ provider: a, channel: b }, n);
      else this.#opts.metrics.sends.inc({ provider: a, status: b }, n);
    }
  }

  /** The engine could not commit: nothing of the batch may remain. */
  abort(): void {
    this.state.dropHeld();
    this.state.writes.discard();
    this.#deadLetterCodes = [];
    this.#outputs = [];
    this.#effects = [];
    this.#signals = [];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const op of this.#opts.topology.operators) {
      try {
        await op.close?.();
      } catch (err) {
        this.log.warn({ err: errorMessage(err), operator: op.name }, 'operator close failed');
      }
    }
    await this.state.close();
  }

  #finish(kind: BatchResult['kind'], offsets: Record<string, number>, records: number, startedAt: number): BatchResult {
    const { limits, topics } = this.#opts;
    const tally = new Map<string, number>();
    for (const o of this.#outputs) {
      const v = o.value as { action?: string; reasons?: string[]; provider?: string; status?: string; channel?: string; providerCost?: number };
      const key = o.role === 'decisions' ? `d\u0000${v.action}\u0000${v.reasons?.[0] ?? 'none'}` : o.role === 'sends' ? `s\u0000${v.provider}\u0000${v.status}` : undefined;
      if (key !== undefined) tally.set(key, (tally.get(key) ?? 0) + 1);
      if (o.role === 'sends' && typeof v.providerCost === 'number' && v.providerCost > 0) {
        const spent = `c\u0000${v.provider}\u0000${v.channel}`;
        tally.set(spent, (tally.get(spent) ?? 0) + v.providerCost);
      }
    }
    for (const [code, topic] of this.#deadLetterCodes) {
      const key = `x\u0000${code}\u0000${topic}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    this.#deadLetterCodes = [];
    const produced = this.#outputs;
    const outputs = produced.map((o) => encodeOutput(o, topics, limits.outputFormat));
    this.#outputs = [];
    const effects = this.#effects;
    this.#effects = [];
    const signals = this.#signals;
    this.#signals = [];
    const { ops, checkpoint } = this.state.prepareCommit(offsets);
    return { partition: this.partition, kind, outputs, ops, checkpoint, offsets, effects, produced, signals, tally, records, startedAt };
  }

  #deadLetter(raw: RawRecord, err: unknown, fallback: ErrorCode = ErrorCodes.OPERATOR): void {
    const code = isNudgeError(err) ? err.code : fallback;
    const field = err instanceof RecordError ? err.field : undefined;
    this.#outputs.push(deadLetter(raw, { code, message: errorMessage(err), field }, this.#opts.limits.deadLetterValueBytes, this.#opts.clock.now()));
    this.#deadLetterCodes.push([code, raw.topic]);
  }

  #contextFor(op: Operator, query: boolean): OperatorContext {
    const task = this;
    const { clock, campaigns, partition, partitionCount } = this.#opts;
    const log = this.log.child({ operator: op.name });
    return {
      partition,
      partitionCount,
      clock,
      log,
      campaigns,
      store: query ? <V>(name: string) => task.state.store<V>(name).readView() : (name) => task.state.store(name),
      forward: (output) => {
        task.#outputs.push(output);
      },
      schedule: (id, at, payload) => task.#timers.schedule({ id, at, owner: op.name, payload }),
      cancel: (id) => task.#timers.cancel(id),
      getTimer: async <P>(id: string) => (await task.#timers.get(id)) as Timer<P> | undefined,
      effect: (id, kind, payload) => {
        const effect: Effect = { id, kind, owner: op.name, payload, dispatches: 1 };
        task.#outbox.put([id], effect);
        task.#effects.push(effect);
      },
      signal: (kind, payload) => {
        task.#signals.push({ kind, payload });
      },
      turn,
    };
  }
}
