import type { Message } from 'kafkajs';
import type { WriteOp } from '../../state/bytes-store.js';
import { PartitionState, type Checkpoint } from '../../state/partition-state.js';
import { decodeValue, encodeValue } from '../../state/value-codec.js';
import type { BatchResult } from '../partition-task.js';

/**
 * A batch's changelog: one record per changed key (null value for a delete), then the
 * checkpoint record. The checkpoint comes last, so a reader can tell a complete batch
 * from the torn tail of one that crashed mid-write (at-least-once mode).
 */
export function changelogMessages(result: BatchResult): Message[] {
  const messages: Message[] = result.ops.map((op) => ({
    key: toBuffer(op.key),
    value: op.type === 'put' ? toBuffer(op.value) : null,
    partition: result.partition,
  }));
  const { changelogNext: _local, ...checkpoint } = result.checkpoint;
  messages.push({ key: toBuffer(PartitionState.checkpointKey), value: toBuffer(encodeValue(checkpoint)), partition: result.partition });
  return messages;
}

/**
 * A torn tail (at-least-once mode, a crash mid-write) is at most one batch long; anything
 * further back without a checkpoint after it is a compacted stretch, whose checkpoint
 * records compaction removed. Those are applied, not held: holding them would keep a
 * whole compacted changelog in memory.
 */
const TAIL_LIMIT = 50_000;

/** Restored ops up to the last complete batch, and the checkpoint that batch ended with. */
export class ChangelogReplay {
  #pending: WriteOp[] = [];
  #ready: WriteOp[] = [];
  #checkpoint: Checkpoint | undefined;
  /** Offset after the last checkpoint record: where a later restore may resume. */
  #resumeAt: number | undefined;
  records = 0;

  add(key: Buffer, value: Buffer | null, offset: number): void {
    this.records++;
    if (PartitionState.isCheckpointKey(key)) {
      this.#checkpoint = value === null ? undefined : decodeValue<Checkpoint>(value);
      this.#resumeAt = offset + 1;
      for (const op of this.#pending) this.#ready.push(op);
      this.#pending = [];
      return;
    }
    this.#pending.push(value === null ? { type: 'del', key } : { type: 'put', key, value });
    if (this.#pending.length > 2 * TAIL_LIMIT) {
      const older = this.#pending.splice(0, this.#pending.length - TAIL_LIMIT);
      for (const op of older) this.#ready.push(op);
    }
  }

  /**
   * Ops that are safe to apply now (and forgets them); the possibly torn tail stays pending.
   * The checkpoint is the last one seen: ops applied past it are re-applied, idempotently,
   * if the restore is interrupted and resumes from it.
   */
  takeComplete(): { ops: WriteOp[]; checkpoint: Checkpoint | undefined } {
    const ops = this.#ready;
    this.#ready = [];
    const checkpoint = this.#checkpoint === undefined ? undefined : { ...this.#checkpoint, changelogNext: this.#resumeAt as number };
    return { ops, checkpoint };
  }

  get tornRecords(): number {
    return this.#pending.length;
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
