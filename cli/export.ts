import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { Unpackr } from 'msgpackr';
import { ConfigError } from '../errors/index.js';
import { EmbeddedLog } from '../processor/embedded/log.js';
import { INPUT_ROLES, OUTPUT_ROLES } from '../processor/record.js';
import { TopicNames } from '../processor/topic-names.js';
import { configFromArgs, type CommonArgs } from './config-from-args.js';

export interface ExportArgs extends CommonArgs {
  topic: string;
  file?: string | undefined;
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/**
 * `nudge export TOPIC [FILE]`: a topic of the embedded log as JSON lines, partition by
 * partition in offset order (MessagePack values converted), to FILE or standard output. What
 * `nudge train` and `nudge eval` read (`export decisions`, `export events`) when the replica
 * ran on the embedded default; on Kafka a consumer of the topic writes the same lines.
 */
export async function exportCommand(args: ExportArgs): Promise<number> {
  const config = configFromArgs(args);
  if (config.kafka.brokers.length > 0) {
    throw new ConfigError('--brokers', 'nudge export reads the embedded log', 'no brokers (on Kafka, read the topic with a consumer)');
  }
  const names = new TopicNames(config.topics);
  const byRole = new Map<string, string>([
    ...INPUT_ROLES.map((r) => [r, names.input(r)] as const),
    ['campaigns', names.campaigns],
    ...OUTPUT_ROLES.map((r) => [r, names.output(r)] as const),
  ]);
  const topic = byRole.get(args.topic) ?? args.topic;
  const dir = join(config.state.dir, 'embedded-log');
  if (!existsSync(join(dir, 'log.mdb'))) {
    throw new ConfigError('--state-dir', `no embedded log in ${config.state.dir}`, 'the state directory of a replica that ran on the embedded default');
  }
  const log = new EmbeddedLog(dir);
  try {
    const partitions = log.partitions(topic);
    if (partitions === undefined) throw new ConfigError('topic', `the log has no topic "${args.topic}"`, `${[...byRole.keys()].join(', ')}, or one of ${log.topics().join(', ')}`);
    const toStdout = args.file === undefined || args.file === '' || args.file === '-';
    const out: Writable = toStdout ? process.stdout : createWriteStream(args.file as string);
    let n = 0;
    for (let p = 0; p < partitions; p++) {
      for (let from = 0; from < log.end(topic, p); from += 1_000) {
        for (const r of log.read(topic, p, from, 1_000)) {
          // A tombstone (compacted topics) has no value to write.
          if (r.value === null) continue;
          const type = r.headers['content-type']?.toString() ?? '';
          const line = type.includes('msgpack') ? JSON.stringify(unpackr.unpack(r.value)) : r.value.toString('utf8');
          n++;
          if (!out.write(`${line}\n`)) await once(out, 'drain');
        }
      }
    }
    if (!toStdout) {
      out.end();
      await once(out, 'finish');
    }
    process.stderr.write(`${n} records from ${topic}\n`);
  } finally {
    await log.close();
  }
  return 0;
}
