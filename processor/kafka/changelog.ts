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
      this.#ready.push(...this.#pending);
      this.#pending = [];
      return;
    }
    this.#pending.push(value === null ? { type: 'del', key } : { type: 'put', key, value });
  }

  /** Ops of complete batches seen so far (and forgets them); the torn tail stays pending. */
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
