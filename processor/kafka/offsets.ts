import type { Kafka } from 'kafkajs';
import { errorMessage } from '../../errors/index.js';

export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

/**
 * Low and high watermarks of every partition of a topic. Retried: right after a topic is
 * created, or while leadership moves, the broker answers NOT_LEADER for a short while.
 */
export async function fetchOffsets(kafka: Kafka, topic: string, attempts = 20): Promise<PartitionOffsets[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
      } catch (err) {
        const retriable = (err as { retriable?: boolean }).retriable === true;
        if (!retriable || attempt >= attempts) throw new Error(`cannot read offsets of ${topic}: ${errorMessage(err)}`, { cause: err });
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
      }
    }
  } finally {
    await admin.disconnect();
  }
}
