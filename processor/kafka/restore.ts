import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { PartitionError, errorMessage } from '../../errors/index.js';
import type { WriteOp } from '../../state/bytes-store.js';
import type { PartitionState } from '../../state/partition-state.js';
import type { Logger } from '../logger.js';
import type { ProcessorMetrics } from '../metrics.js';
import { ChangelogReplay } from './changelog.js';
import { fetchOffsets } from './offsets.js';

export interface RestoreTarget {
  partition: number;
  state: PartitionState;
}

interface Progress {
  target: RestoreTarget;
  from: number;
  end: number;
  replay: ChangelogReplay;
  done: boolean;
}

export interface RestoreOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  log: Logger;
  metrics: ProcessorMetrics;
  timeoutMs: number;
}

/**
 * Brings partition stores up to the end of their changelog partitions. Only the tail
 * after the local checkpoint is read; everything is read again when the store is new or
 * when the log no longer holds the tail (retention or deleteRecords moved its start).
 * Call only after this replica's transactional producer for the partition has been
 * initialised: that aborts a dead owner's open transaction, so the end is final.
 */
export async function restoreFromChangelog(targets: RestoreTarget[], opts: RestoreOptions): Promise<void> {
  if (targets.length === 0) return;
  const { kafka, topic, log, metrics } = opts;
  const offsets = await fetchOffsets(kafka, topic);
  const progress = new Map<number, Progress>();
  for (const target of targets) {
    const bounds = offsets.find((o) => o.partition === target.partition);
    const low = bounds?.low ?? 0;
    const end = bounds?.high ?? 0;
    let from = target.state.checkpoint.changelogNext ?? 0;
    if (from < low || from > end) {
      // The local store is older than the log's start, or from a changelog that was recreated: start over.
      log.warn({ partition: target.partition, local: from, low, end }, 'local state cannot be caught up from the changelog; restoring all of it');
      await wipe(target.state);
      from = low;
    }
    const replay = new ChangelogReplay();
    progress.set(target.partition, { target, from, end, replay, done: from >= end });
    metrics.restoreRemaining.set({ partition: String(target.partition) }, Math.max(0, end - from));
  }
  const pending = [...progress.values()].filter((p) => !p.done);
  if (pending.length === 0) return;
  const started = performance.now();

  const consumer = kafka.consumer({
    // A private group: the restore consumer must see every changelog partition and commit nothing.
    groupId: `${opts.groupId}.restore.${randomUUID()}`,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxWaitTimeInMs: 100,
    readUncommitted: false,
    // A crash fails the restore (the caller retries it); a restart would outlive the disconnect below.
    retry: { retries: 5, restartOnFailure: async () => false },
  });
  let settle: (err?: Error) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (err) => (err === undefined ? resolve() : reject(err));
  });
  const check = () => {
    if ([...progress.values()].every((p) => p.done)) settle();
  };
  const advance = (partition: number, lastOffset: number) => {
    const p = progress.get(partition);
    if (p === undefined || p.done) return;
    metrics.restoreRemaining.set({ partition: String(partition) }, Math.max(0, p.end - lastOffset - 1));
    if (lastOffset + 1 >= p.end) p.done = true;
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    // Batches of only transaction markers or aborted records reach here without eachBatch.
    advance(e.payload.partition, Number(e.payload.lastOffset));
    check();
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const assigned = e.payload.memberAssignment[topic] ?? [];
    const idle = assigned.filter((p) => !progress.has(p) || (progress.get(p) as Progress).done);
    if (idle.length > 0) consumer.pause([{ topic, partitions: idle }]);
    for (const p of pending) consumer.seek({ topic, partition: p.target.partition, offset: String(p.from) });
  });
  consumer.on(consumer.events.CRASH, (e) => settle(new Error(`restore consumer crashed: ${errorMessage(e.payload.error)}`)));
  const timer = setTimeout(() => settle(new Error(`restore did not finish within ${opts.timeoutMs} ms`)), opts.timeoutMs);
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const p = progress.get(batch.partition);
        if (p === undefined || p.done) return;
        for (const m of batch.messages) {
          if (Number(m.offset) < p.from || m.key === null) continue;
          p.replay.add(m.key, m.value, Number(m.offset));
        }
        const { ops, checkpoint } = p.replay.takeComplete();
        // A compacted stretch may come before any checkpoint: apply it under the store's current one.
        if (ops.length > 0 || checkpoint !== undefined) await p.target.state.applyRestored(ops, checkpoint ?? p.target.state.checkpoint);
        metrics.restoreRecords.inc({ partition: String(batch.partition) }, batch.messages.length);
      },
    });
    await finished;
  } catch (err) {
    throw new PartitionError('NUDGE_ERR_RESTORE', `changelog restore failed: ${errorMessage(err)}`, pending[0]?.target.partition ?? -1, topic, {
      cause: err,
      retriable: true,
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
  }
  for (const p of pending) {
    // The checkpoint must say how far the log was read, even when the tail held only markers.
    const state = p.target.state;
    await state.reloadCheckpoint();
    if (p.replay.tornRecords === 0 && (state.checkpoint.changelogNext ?? 0) < p.end) {
      await state.applyRestored([], { ...state.checkpoint, changelogNext: p.end });
    }
    if (p.replay.tornRecords > 0) {
      log.warn({ partition: p.target.partition, records: p.replay.tornRecords }, 'changelog ended inside a batch; its records were not applied');
    }
  }
  log.info(
    { partitions: pending.map((p) => p.target.partition), records: pending.reduce((n, p) => n + p.replay.records, 0), ms: Math.round(performance.now() - started) },
    'state restored from changelog',
  );
}

async function wipe(state: PartitionState): Promise<void> {
  let ops: WriteOp[] = [];
  for await (const [key] of state.engine.range()) {
    ops.push({ type: 'del', key });
    if (ops.length >= 10_000) {
      await state.engine.write(ops);
      ops = [];
    }
  }
  await state.engine.write(ops);
  await state.reloadCheckpoint();
}
