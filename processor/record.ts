/** User-keyed input topics: co-partitioned, keyed by userId. */
export const INPUT_ROLES = ['events', 'profiles', 'candidates', 'receipts'] as const;
export type InputRole = (typeof INPUT_ROLES)[number];

/**
 * The order in which the embedded engine reads a partition's input topics, a batch of each in
 * turn, after the profiles' backlog at start (profiles first): a user's profile (time zone,
 * consent) before their activity, and whatever changes a user's state before the candidates
 * decided on it. A backlog (a first start, a restart after records piled up) is then read as it
 * was written when profiles came first, whatever processor.maxBatchRecords is: read events
 * first, a batch of them fell in the default time zone's hours before their users' profiles were
 * read. On Kafka the order across topics is the order the consumer's fetches return them in, as
 * for any Kafka consumer, but for a gained partition's profiles backlog (kafka/profiles-first.ts).
 */
export const INPUT_READ_ORDER: readonly InputRole[] = ['profiles', 'events', 'receipts', 'candidates'];

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
