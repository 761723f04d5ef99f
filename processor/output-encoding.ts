import { Packr } from 'msgpackr';
import type { TopicNames } from './topic-names.js';
import type { EncodedOutput, OutputRecord } from './record.js';

const packr = new Packr({ useRecords: false, moreTypes: false });

export type OutputFormat = 'json' | 'msgpack';

export function encodeOutput(output: OutputRecord, topics: TopicNames, format: OutputFormat): EncodedOutput {
  const value = format === 'json' ? Buffer.from(JSON.stringify(output.value), 'utf8') : packr.pack(output.value);
  return {
    topic: topics.output(output.role),
    key: output.key === null ? null : Buffer.from(output.key, 'utf8'),
    value,
    headers: { 'content-type': format === 'json' ? 'application/json' : 'application/msgpack' },
  };
}
