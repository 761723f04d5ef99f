import { join } from 'node:path';
import { createLogger } from '../processor/logger.js';
import { createKafka } from '../processor/kafka/client.js';
import { EmbeddedLog } from '../processor/embedded/log.js';
import { configFromArgs, type CommonArgs } from './config-from-args.js';
import { parseJsonLines } from './json-lines.js';
import { inputTopic, readInputText } from './input-files.js';

export interface ProduceArgs extends CommonArgs {
  topic: string;
  file: string;
}

/** `nudge produce TOPIC FILE.jsonl`: keyed as the processor expects, so co-partitioning holds. */
export async function produceCommand(args: ProduceArgs): Promise<number> {
  const config = configFromArgs(args);
  const logger = createLogger(config.log.level);
  const topic = inputTopic(config, args.topic, 'topic');
  const isCampaigns = topic === config.topics.prefix + config.topics.campaigns;
  // yargs reads a lone "-" as an empty string; no file has an empty name.
  const text = readInputText(args.file === '' ? '-' : args.file, 'file');
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
