import type { PartitionState } from '../state/partition-state.js';
import type { BatchResult } from './partition-task.js';
import type { RawRecord } from './record.js';

/** A batch of one source topic-partition, as an engine delivers it. */
export interface SourceBatch {
  topic: string;
  partition: number;
  records: RawRecord[];
  /** Offset after the last record in the partition, when the engine knows it (for lag). */
  highWatermark?: number;
}

/** The replica's side of the engine: called by the engine as partitions come, go and deliver. */
export interface EngineHandler {
  /** Partitions now owned by this replica; resolves once their state is open (and restored). */
  assigned(partitions: number[]): Promise<void>;
  /** Partitions taken away; resolves once their in-flight work is finished and state closed. */
  revoked(partitions: number[]): Promise<void>;
  /** Processes and commits one batch through `Engine.commit`. */
  batch(batch: SourceBatch, heartbeat: () => Promise<void>): Promise<void>;
  /** Where a partition's state says a topic must resume from (undefined: the engine's committed offset). */
  startOffset(partition: number, topic: string): number | undefined;
  /** Raw records of the campaigns topic, in order; the whole topic is read by every replica. */
  table(records: RawRecord[]): void;
}

export interface CommitOutcome {
  /** Next changelog offset after this commit (Kafka); stored in the local checkpoint. */
  changelogNext?: number;
}

/** Kafka or the embedded log: everything that knows about offsets, commits and partition assignment. */
export interface Engine {
  readonly kind: 'kafka' | 'embedded';
  /** Partitions of the user-keyed topics (known once started). */
  readonly partitionCount: number;
  start(handler: EngineHandler): Promise<void>;
  /**
   * Makes newly assigned partitions' state current before their tasks start: fences any
   * previous owner, then restores what the local store lacks (Kafka: from the changelog).
   */
  prepare?(targets: ReadonlyArray<{ partition: number; state: PartitionState }>): Promise<void>;
  /** Releases per-partition resources once a partition's task is closed. */
  release?(partitions: readonly number[]): Promise<void>;
  /** Makes a batch's outputs, changelog and consumed offsets durable together. */
  commit(result: BatchResult): Promise<CommitOutcome>;
  /** Appends records to a topic outside any batch (HTTP webhooks → receipts); keyed as the processor expects. */
  append(topic: string, records: ReadonlyArray<{ key: string; value: Buffer }>): Promise<void>;
  pause(partition: number): void;
  resume(partition: number): void;
  /** Stops fetching, waits for in-flight batches, leaves the group. Idempotent. */
  stop(): Promise<void>;
}
