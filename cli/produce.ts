import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../processor/logger.js';
import { createKafka } from '../processor/kafka/client.js';
import { EmbeddedLog } from '../processor/embedded/log.js';
import { INPUT_ROLES } from '../processor/record.js';
import { configFromArgs, type CommonArgs } from './config-from-args.js';
import { parseJsonLines } from './json-lines.js';

export interface ProduceArgs extends CommonArgs {
  topic: string;
  file: string;
}

/** `nudge produce TOPIC FILE.jsonl`: keyed as the processor expects, so co-partitioning holds. */
export async function produceCommand(args: ProduceArgs): Promise<number> {
  const config = configFromArgs(args);
  const logger = createLogger(config.log.level);
  const roles: readonly string[] = [...INPUT_ROLES, 'campaigns'];
  const topic = roles.includes(args.topic) ? config.topics.prefix + (config.topics as Record<string, string>)[args.topic] : args.topic;
  const isCampaigns = topic === config.topics.prefix + config.topics.campaigns;
  const text = readFileSync(args.file === '-' ? 0 : args.file, 'utf8');
  const records = parseJsonLines(text, isCampaigns ? 'campaignId' : 'userId');
  if (config.kafka.brokers.length > 0) {
    const kafka = createKafka(config, logger);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let i = 0; i < records.length; i += 5000) {
        await producer.send({
          topic,
          acks: -1,
          messages: records.slice(i, i + 5000).map((r) => ({ key: r.key, value: r.value, headers: r.headers ?? {} })),
        });
      }
    } finally {
      await producer.disconnect();
    }
  } else {
    const log = new EmbeddedLog(join(config.state.dir, 'embedded-log'));
    log.createTopic(topic, isCampaigns ? 1 : config.embedded.partitions);
    log.append(topic, records);
    await log.close();
  }
  console.log(`${records.length} records → ${topic}`);
  return 0;
}
