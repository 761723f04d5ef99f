import { randomUUID } from 'node:crypto';
import type { NudgeConfig } from '../config/schema.js';
import { ConfigError, ErrorCodes, NudgeError } from '../errors/index.js';
import { createKafka } from '../processor/kafka/client.js';
import type { Logger } from '../processor/logger.js';

/** A record of the topic as `nudge export` writes it. */
export interface ExportedRecord {
  partition: number;
  offset: number;
  value: Buffer | null;
  contentType: string;
}

/** Without a record for this long, the read stops and says where it got to (an open transaction holds read_committed readers back). */
const STALL_MS = 60_000;

/**
 * Every committed record of a Kafka topic up to its end as it is when the read starts, in
 * offset order within each partition (partitions interleave). A consumer of a group of its own,
 * read_committed, that commits nothing; the group is deleted at the end. The ends are the
 * admin client's latest offsets, which for read_committed stop at the last stable offset, so
 * records written while the read runs are left out and the read ends. `begin` is called once
 * the topic is known to exist, before the first record.
 */
export async function readKafkaTopic(config: NudgeConfig, topic: string, name: string, allowed: string, logger: Logger, each: (r: ExportedRecord) => Promise<void>, begin: () => void): Promise<void> {
  const kafka = createKafka(config, logger);
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, number>();
  const reached = new Map<number, number>();
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new ConfigError('topic', `the cluster has no topic "${name}"`, allowed);
    for (const o of await admin.fetchTopicOffsets(topic)) {
      ends.set(o.partition, Number(o.high));
      // A partition's retention may have removed its start: it begins at its low offset.
      reached.set(o.partition, Number(o.low));
    }
  } finally {
    await admin.disconnect();
  }
  // The topic exists: the output may be opened (an empty topic still gives an empty file).
  begin();
  const complete = () => [...ends].every(([p, end]) => (reached.get(p) ?? 0) >= end);
  if (complete()) return;
  const groupId = `${config.kafka.groupId}.export.${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 200 });
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  let lastProgress = Date.now();
  // A batch of transaction markers alone ends here without reaching eachBatch; its offsets count too.
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    const p = e.payload.partition;
    reached.set(p, Math.max(reached.get(p) ?? 0, Number(e.payload.lastOffset) + 1));
    lastProgress = Date.now();
    if (complete()) done();
  });
  let stalled: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = ends.get(batch.partition) ?? 0;
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          if (offset >= end) continue;
          const contentType = m.headers?.['content-type'];
          await each({ partition: batch.partition, offset, value: m.value, contentType: contentType === undefined ? '' : String(contentType) });
        }
      },
    });
    const stall = new Promise<'stalled'>((resolve) => {
      stalled = setInterval(() => {
        if (Date.now() - lastProgress > STALL_MS) resolve('stalled');
      }, 1_000);
    });
    if ((await Promise.race([finished.then(() => 'done' as const), stall])) === 'stalled') {
      const behind = [...ends].filter(([p, end]) => (reached.get(p) ?? 0) < end).map(([p, end]) => `partition ${p} at ${reached.get(p) ?? 0} of ${end}`);
      throw new NudgeError(ErrorCodes.KAFKA, `reading ${topic}: no progress for ${STALL_MS / 1000} s (${behind.join(', ')}); an open transaction holds read_committed readers back`);
    }
  } finally {
    clearInterval(stalled);
    await consumer.disconnect();
    const cleanup = kafka.admin();
    // Best effort: a group that was never committed to holds no offsets, only a name.
    await cleanup
      .connect()
      .then(() => cleanup.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => cleanup.disconnect().catch(() => undefined));
  }
}
