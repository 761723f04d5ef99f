import type { Admin, ITopicConfig } from 'kafkajs';
import type { NudgeConfig } from '../../config/schema.js';
import { NudgeError } from '../../errors/index.js';
import type { Logger } from '../logger.js';
import type { TopicNames } from '../topic-names.js';

/**
 * Creates missing topics and enforces co-partitioning: every user-keyed input and the
 * changelog must have the same partition count, or a user's records would be split
 * between partitions (and replicas) and their state would be wrong.
 */
export async function prepareTopics(admin: Admin, config: NudgeConfig, topics: TopicNames, log: Logger): Promise<{ partitions: number; counts: Map<string, number> }> {
  const coPartitioned = [...topics.inputs, topics.changelog];
  const all = [...coPartitioned, ...topics.outputs, topics.campaigns, topics.replicas];
  const existing = new Set(await admin.listTopics());
  const counts = new Map<string, number>();
  const present = all.filter((t) => existing.has(t));
  if (present.length > 0) {
    const metadata = await admin.fetchTopicMetadata({ topics: present });
    for (const t of metadata.topics) counts.set(t.name, t.partitions.length);
  }
  const known = coPartitioned.map((t) => counts.get(t)).filter((n): n is number => n !== undefined);
  const partitions = known[0] ?? config.kafka.partitions;
  const mismatched = coPartitioned.filter((t) => counts.has(t) && counts.get(t) !== partitions);
  if (mismatched.length > 0) {
    const detail = coPartitioned.map((t) => `${t}=${counts.get(t) ?? 'missing'}`).join(', ');
    throw new NudgeError(
      'NUDGE_ERR_PARTITION_MISMATCH',
      `co-partitioned topics have different partition counts (${detail}); every user-keyed topic and the changelog must have the same count`,
    );
  }
  const missing = all.filter((t) => !existing.has(t));
  if (missing.length > 0) {
    if (!config.kafka.autoCreateTopics) {
      throw new NudgeError('NUDGE_ERR_CONFIG', `topics missing and kafka.autoCreateTopics is false: ${missing.join(', ')}`);
    }
    const compacted = new Set([topics.changelog, topics.campaigns, topics.replicas, topics.input('profiles')]);
    const specs: ITopicConfig[] = missing.map((topic) => ({
      topic,
      numPartitions: topic === topics.campaigns || topic === topics.replicas ? 1 : partitions,
      replicationFactor: config.kafka.replicationFactor,
      ...(compacted.has(topic) ? { configEntries: [{ name: 'cleanup.policy', value: 'compact' }] } : {}),
    }));
    await admin.createTopics({ topics: specs, waitForLeaders: true });
    log.info({ topics: missing, partitions }, 'created topics');
  }
  const changelogConfig = await admin.describeConfigs({
    resources: [{ type: 2, name: topics.changelog, configNames: ['cleanup.policy'] }],
    includeSynonyms: false,
  });
  const policy = changelogConfig.resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue;
  if (policy !== undefined && !policy.includes('compact')) {
    throw new NudgeError('NUDGE_ERR_CONFIG', `changelog topic ${topics.changelog} has cleanup.policy=${policy}; it must be compact`);
  }
  for (const t of missing) counts.set(t, t === topics.campaigns || t === topics.replicas ? 1 : partitions);
  return { partitions, counts };
}
