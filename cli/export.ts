import { createWriteStream, existsSync, openSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { Unpackr } from 'msgpackr';
import { ConfigError } from '../errors/index.js';
import { EmbeddedLog } from '../processor/embedded/log.js';
import { configFromArgs, type CommonArgs } from './config-from-args.js';
import { topicsByRole } from './input-files.js';

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
  const byRole = topicsByRole(config);
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
    const out: Writable = toStdout ? process.stdout : createWriteStream('', { fd: openFile(args.file as string) });
    let n = 0;
    let skipped = 0;
    for (let p = 0; p < partitions; p++) {
      for (let from = 0; from < log.end(topic, p); from += 1_000) {
        for (const r of log.read(topic, p, from, 1_000)) {
          // A tombstone (compacted topics) has no value to write.
          if (r.value === null) continue;
          const line = jsonLine(r.value, r.headers['content-type']?.toString() ?? '');
          if (line === undefined) {
            // An input refused as malformed stays in its topic (and went to the dead-letter topic):
            // it is named here, not written as a line that would break the file for its reader.
            skipped++;
            process.stderr.write(`partition ${p} offset ${r.offset}: not valid JSON or MessagePack, not written\n`);
            continue;
          }
          n++;
          if (!out.write(`${line}\n`)) await once(out, 'drain');
        }
      }
    }
    if (!toStdout) {
      out.end();
      await once(out, 'finish');
    }
    process.stderr.write(`${n} records from ${topic}${skipped > 0 ? `; ${skipped} not valid JSON or MessagePack, not written` : ''}\n`);
  } finally {
    await log.close();
  }
  return 0;
}

/** A record's value as one line of JSON, or undefined when it is neither valid JSON nor MessagePack. */
function jsonLine(value: Buffer, contentType: string): string | undefined {
  try {
    return JSON.stringify(contentType.includes('msgpack') ? unpackr.unpack(value) : JSON.parse(value.toString('utf8')));
  } catch {
    return undefined;
  }
}

/** The output file, opened before anything is read: a path that cannot be written is a usage error naming it. */
function openFile(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (err) {
    throw new ConfigError('file', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'a writable file path, or - for standard output', { cause: err });
  }
}
