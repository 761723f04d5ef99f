import { createWriteStream, existsSync, openSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { Unpackr } from 'msgpackr';
import { ConfigError } from '../errors/index.js';
import { EmbeddedLog } from '../processor/embedded/log.js';
import { configFromArgs, type CommonArgs } from './config-from-args.js';
import { topicsByRole } from './input-files.js';
import { readKafkaTopic, type ExportedRecord } from './export-kafka.js';
import { createLogger } from '../processor/logger.js';

export interface ExportArgs extends CommonArgs {
  topic: string;
  file?: string | undefined;
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/**
 * `nudge export TOPIC [FILE]`: a topic as JSON lines (MessagePack values converted), to FILE or
 * standard output: what `nudge train` and `nudge eval` read (`export decisions`, `export
 * events`). On the embedded default, the log of the replica's state directory, partition by
 * partition in offset order; on Kafka, the committed records up to the topic's end when the
 * export starts, in offset order within each partition (export-kafka.ts).
 */
export async function exportCommand(args: ExportArgs): Promise<number> {
  const config = configFromArgs(args);
  const byRole = topicsByRole(config);
  const topic = byRole.get(args.topic) ?? args.topic;
  const out = new LineOutput(args.file);
  if (config.kafka.brokers.length > 0) {
    // Standard output may carry the lines: kafkajs' warnings and errors go to standard error.
    const verbose = config.log.level === 'debug' || config.log.level === 'trace';
    const logger = createLogger(verbose ? config.log.level : 'warn', process.stderr);
    await readKafkaTopic(config, topic, args.topic, `${[...byRole.keys()].join(', ')}, or a topic of the cluster`, logger, (r) => out.write(r), () => void out.open());
  } else {
    const dir = join(config.state.dir, 'embedded-log');
    if (!existsSync(join(dir, 'log.mdb'))) {
      throw new ConfigError('--state-dir', `no embedded log in ${config.state.dir}`, 'the state directory of a replica that ran on the embedded default, or --brokers to read Kafka');
    }
    const log = new EmbeddedLog(dir);
    try {
      const partitions = log.partitions(topic);
      if (partitions === undefined) throw new ConfigError('topic', `the log has no topic "${args.topic}"`, `${[...byRole.keys()].join(', ')}, or one of ${log.topics().join(', ')}`);
      out.open();
      for (let p = 0; p < partitions; p++) {
        for (let from = 0; from < log.end(topic, p); from += 1_000) {
          for (const r of log.read(topic, p, from, 1_000)) await out.write({ partition: p, offset: r.offset, value: r.value, contentType: r.headers['content-type']?.toString() ?? '' });
        }
      }
    } finally {
      await log.close();
    }
  }
  await out.close();
  const notes = [
    ...(out.tombstones > 0 ? [`${out.tombstones} tombstone${out.tombstones === 1 ? '' : 's'} (a key with no value), not written`] : []),
    ...(out.skipped > 0 ? [`${out.skipped} not valid JSON or MessagePack, not written`] : []),
  ];
  process.stderr.write(`${out.written} records from ${topic}${notes.map((n) => `; ${n}`).join('')}\n`);
  return 0;
}

/** Where the lines go: FILE, opened once the topic is known to exist, or standard output. */
class LineOutput {
  readonly #file: string | undefined;
  #out: Writable | undefined;
  written = 0;
  skipped = 0;
  /** Records with no value: a deletion on a compacted topic (a profile erased), counted, not written. */
  tombstones = 0;

  constructor(file: string | undefined) {
    this.#file = file === undefined || file === '' || file === '-' ? undefined : file;
  }

  /** Opens FILE (or takes standard output) the first time; a path that cannot be written is a usage error then. */
  open(): Writable {
    return (this.#out ??= this.#file === undefined ? process.stdout : createWriteStream('', { fd: openFile(this.#file) }));
  }

  async write(r: ExportedRecord): Promise<void> {
    // A tombstone (compacted topics) has no value to write as a line of the file.
    if (r.value === null) {
      this.tombstones++;
      return;
    }
    const line = jsonLine(r.value, r.contentType);
    if (line === undefined) {
      // An input refused as malformed stays in its topic (and went to the dead-letter topic):
      // it is named here, not written as a line that would break the file for its reader.
      this.skipped++;
      process.stderr.write(`partition ${r.partition} offset ${r.offset}: not valid JSON or MessagePack, not written\n`);
      return;
    }
    this.written++;
    const out = this.open();
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }

  async close(): Promise<void> {
    const out = this.open();
    if (this.#file === undefined) return;
    out.end();
    await once(out, 'finish');
  }
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
