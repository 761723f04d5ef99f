import { Partitioners, type PartitionMetadata } from 'kafkajs';

// kafkajs' default partitioner is Java's (murmur2 of the key bytes). Using it here, rather
// than a copy, guarantees the embedded log puts a user on the same partition number as Kafka.
const defaultPartitioner = Partitioners.DefaultPartitioner();
const metadataByCount = new Map<number, PartitionMetadata[]>();
let roundRobin = 0;

function metadataFor(count: number): PartitionMetadata[] {
  let metadata = metadataByCount.get(count);
  if (metadata === undefined) {
    metadata = Array.from({ length: count }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
      offlineReplicas: [],
    }));
    metadataByCount.set(count, metadata);
  }
  return metadata;
}

/** Partition of a key among `count` partitions, as Kafka's default producer partitioner picks it. */
export function partitionFor(key: Buffer | string | null, count: number): number {
  if (key === null) return roundRobin++ % count;
  return defaultPartitioner({
    topic: '',
    partitionMetadata: metadataFor(count),
    message: { key: typeof key === 'string' ? Buffer.from(key, 'utf8') : key, value: null },
  });
}
