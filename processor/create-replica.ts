import { join } from 'node:path';
import type { NudgeConfig } from '../config/schema.js';
import type { Clock } from './clock.js';
import { EmbeddedEngine } from './embedded/engine.js';
import { EmbeddedLog } from './embedded/log.js';
import { createKafka } from './kafka/client.js';
import { KafkaEngine } from './kafka/engine.js';
import type { Logger } from './logger.js';
import type { ProcessorMetrics } from './metrics.js';
import type { TopologyFactory } from './operator.js';
import { Replica } from './replica.js';
import type { EffectHandler } from './effects.js';
import { systemClock } from './clock.js';
import { RecordingSink } from '../operators/sinks/recording-sink.js';

export interface CreateReplicaOptions {
  config: NudgeConfig;
  topology: TopologyFactory;
  logger: Logger;
  clock?: Clock;
  metrics?: ProcessorMetrics;
  /** Embedded mode: an existing log (tests, the demo); otherwise one is opened under state.dir. */
  embeddedLog?: EmbeddedLog;
  env?: NodeJS.ProcessEnv;
  /** Sinks; without any, sends are recorded as sent and nothing leaves the process. */
  effects?: readonly EffectHandler[];
}

/** Kafka when brokers are configured, the embedded default otherwise: the same replica either way. */
export function createReplica(opts: CreateReplicaOptions): { replica: Replica; embeddedLog?: EmbeddedLog } {
  const { config, logger } = opts;
  if (config.kafka.brokers.length > 0) {
    const replica = new Replica({
      ...pick(opts),
      engine: (r) =>
        new KafkaEngine({ kafka: createKafka(config, r.log, opts.env), config, topics: r.topics, replicaId: r.id, log: r.log, metrics: r.metrics }),
    });
    return { replica };
  }
  const log = opts.embeddedLog ?? new EmbeddedLog(join(config.state.dir, 'embedded-log'));
  const replica = new Replica({
    ...pick(opts),
    engine: (r) =>
      new EmbeddedEngine({
        log,
        group: config.kafka.groupId,
        inputs: r.topics.inputsInReadOrder,
        outputs: r.topics.outputs,
        campaignsTopic: r.topics.campaigns,
        partitions: config.embedded.partitions,
        maxBatchRecords: config.processor.maxBatchRecords,
        logger,
      }),
  });
  return { replica, embeddedLog: log };
}

function pick(opts: CreateReplicaOptions) {
  return {
    effects: opts.effects ?? [new RecordingSink(opts.clock ?? systemClock)],
    config: opts.config,
    topology: opts.topology,
    logger: opts.logger,
    ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
    ...(opts.metrics !== undefined ? { metrics: opts.metrics } : {}),
  };
}
