import type { ErrorCode } from '../errors/index.js';
import type { OutputRecord, RawRecord } from './record.js';

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  error: { code: ErrorCode; message: string; field?: string };
  /** The raw value, base64, cut to the configured size (the dead-letter topic has a size limit too). */
  value: string | null;
  valueBytes: number;
  truncated: boolean;
  ts: number;
}

export function deadLetter(
  record: RawRecord,
  error: { code: ErrorCode; message: string; field?: string | undefined },
  maxValueBytes: number,
  now: number,
): OutputRecord {
  const value = record.value;
  const kept = value === null ? null : value.subarray(0, maxValueBytes);
  const key = record.key === null ? null : record.key.toString('utf8');
  const letter: DeadLetter = {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key,
    error: error.field === undefined ? { code: error.code, message: error.message } : { code: error.code, message: error.message, field: error.field },
    value: kept === null ? null : kept.toString('base64'),
    valueBytes: value === null ? 0 : value.length,
    truncated: value !== null && kept !== null && kept.length < value.length,
    ts: now,
  };
  return { role: 'deadletter', key, value: letter };
}
