/** User-keyed input topics: co-partitioned, keyed by userId. */
export const INPUT_ROLES = ['events', 'profiles', 'candidates', 'receipts'] as const;
export type InputRole = (typeof INPUT_ROLES)[number];

/** Topics the processor writes; `counts` is the output of the reference counter topology. */
export const OUTPUT_ROLES = ['decisions', 'sends', 'deadletter', 'counts'] as const;
export type OutputRole = (typeof OUTPUT_ROLES)[number];

export type HeaderValue = Buffer | string | undefined;

/** A record as a source hands it over: bytes, coordinates, nothing interpreted yet. */
export interface RawRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, HeaderValue>;
  /** Broker or log timestamp, epoch ms. */
  timestamp: number;
}

/** A decoded, validated input record as operators receive it. */
export interface InputRecord<V = unknown> {
  role: InputRole;
  topic: string;
  partition: number;
  offset: number;
  key: string;
  /** `null` is a tombstone (profiles only). */
  value: V | null;
  timestamp: number;
}

/** What an operator or the runtime emits; the runtime encodes and partitions it. */
export interface OutputRecord {
  role: OutputRole;
  key: string | null;
  value: unknown;
}

/** An output ready for the wire: topic resolved, value encoded. */
export interface EncodedOutput {
  topic: string;
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
}
