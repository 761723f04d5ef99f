import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { TSchema } from '@sinclair/typebox';
import { Unpackr } from 'msgpackr';
import { ErrorCodes, RecordError } from '../errors/index.js';
import { CampaignSchema, CandidateSchema, EventSchema, ProfileSchema, ReceiptSchema, toEpochMs } from './messages/index.js';
import type { HeaderValue, InputRole, RawRecord } from './record.js';

export type DecodableRole = InputRole | 'campaigns';

const SCHEMAS: Record<DecodableRole, TSchema> = {
  events: EventSchema,
  profiles: ProfileSchema,
  candidates: CandidateSchema,
  receipts: ReceiptSchema,
  campaigns: CampaignSchema,
};

/** The field that must equal the record key, per role; it is also what co-partitioning relies on. */
const KEY_FIELD: Record<DecodableRole, string> = {
  events: 'userId',
  profiles: 'userId',
  candidates: 'userId',
  receipts: 'userId',
  campaigns: 'campaignId',
};

/** Compacted topics, where a null value is a tombstone rather than a mistake. */
const TOMBSTONE_ROLES = new Set<DecodableRole>(['profiles', 'campaigns']);

const checkers = Object.fromEntries(
  Object.entries(SCHEMAS).map(([role, schema]) => [role, TypeCompiler.Compile(schema)]),
) as Record<DecodableRole, TypeCheck<TSchema>>;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export interface DecodeLimits {
  maxRecordBytes: number;
}

export interface Decoded<V = unknown> {
  key: string;
  value: V | null;
}

/** Decodes and validates one record; throws a RecordError whose code names what is wrong. */
export function decodeRecord(role: DecodableRole, record: RawRecord, limits: DecodeLimits): Decoded {
  const key = decodeKeyBytes(record.key);
  if (record.value === null) {
    if (!TOMBSTONE_ROLES.has(role)) throw new RecordError(ErrorCodes.EMPTY_VALUE, `a ${role} record has no value`);
    if (key === null) throw new RecordError(ErrorCodes.MISSING_KEY, `a ${role} tombstone has no key`);
    return { key, value: null };
  }
  const value = parseValue(record.value, record.headers['content-type'], limits);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RecordError(ErrorCodes.NOT_AN_OBJECT, `a ${role} value must be an object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  validate(role, value);
  normaliseTimes(role, value as Record<string, unknown>);
  const keyField = KEY_FIELD[role];
  const expected = (value as Record<string, unknown>)[keyField] as string;
  if (key === null) throw new RecordError(ErrorCodes.MISSING_KEY, `record has no key; it must be the ${keyField}`, keyField);
  if (key !== expected) {
    throw new RecordError(ErrorCodes.KEY_MISMATCH, `record key differs from ${keyField}; keys must equal ${keyField} for co-partitioning`, keyField);
  }
  return { key, value };
}

function decodeKeyBytes(key: Buffer | null): string | null {
  if (key === null || key.length === 0) return null;
  try {
    return utf8.decode(key);
  } catch (err) {
    throw new RecordError(ErrorCodes.INVALID_UTF8, 'record key is not valid UTF-8', undefined, { cause: err });
  }
}

type Format = 'json' | 'msgpack';

function parseValue(bytes: Buffer, contentType: HeaderValue, limits: DecodeLimits): unknown {
  if (bytes.length === 0) throw new RecordError(ErrorCodes.EMPTY_VALUE, 'record value is empty');
  if (bytes.length > limits.maxRecordBytes) {
    throw new RecordError(ErrorCodes.RECORD_TOO_LARGE, `record value is ${bytes.length} bytes, over the limit of ${limits.maxRecordBytes}`);
  }
  const format = formatOf(bytes, contentType);
  if (format === 'msgpack') {
    try {
      return unpackr.unpack(bytes);
    } catch (err) {
      // msgpackr's message can quote the decoded data (phone numbers, tokens): keep only that it failed.
      throw new RecordError(ErrorCodes.MALFORMED_MSGPACK, 'value is not valid MessagePack', undefined, { cause: err });
    }
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (err) {
    throw new RecordError(ErrorCodes.INVALID_UTF8, 'value is not valid UTF-8', undefined, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8's message quotes the text around the error, which may hold a phone number: keep the position only.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    const message = (err as Error).message;
    const where =
      position !== undefined ? ` at position ${position}` : /end of (JSON|data)/i.test(message) ? ' (it ends early)' : text.trim() === '' ? ' (it is blank)' : ' (unexpected token)';
    throw new RecordError(ErrorCodes.MALFORMED_JSON, `value is not valid JSON${where}`, undefined, { cause: err });
  }
}

/**
 * Content-type headers already read, exactly as given, to their format. A producer sends the
 * same few headers on every record, and splitting, trimming and lower-casing one per record was
 * about 3% of the history load's CPU in the demo. Only supported types are kept, at most
 * KNOWN_TYPES_MAX of them, so odd headers cannot grow it.
 */
const knownTypes = new Map<string, Format>();
const KNOWN_TYPES_MAX = 64;

function formatOf(bytes: Buffer, header: HeaderValue): Format {
  if (header !== undefined) {
    const text = typeof header === 'string' ? header : header.toString();
    const known = knownTypes.get(text);
    if (known !== undefined) return known;
    const type = text.split(';')[0]?.trim().toLowerCase();
    const format: Format | undefined =
      type === 'application/json'
        ? 'json'
        : type === 'application/msgpack' || type === 'application/x-msgpack' || type === 'application/vnd.msgpack'
          ? 'msgpack'
          : undefined;
    if (format !== undefined) {
      if (knownTypes.size < KNOWN_TYPES_MAX) knownTypes.set(text, format);
      return format;
    }
    throw new RecordError(
      ErrorCodes.UNKNOWN_CONTENT_TYPE,
      `content-type ${JSON.stringify(type)} is not supported (application/json or application/msgpack)`,
    );
  }
  const first = bytes[0] as number;
  // A JSON object starts with "{" (after optional whitespace); a MessagePack map with fixmap, map16 or map32.
  if (first === 0x7b || first === 0x20 || first === 0x0a || first === 0x0d || first === 0x09 || first === 0x5b) return 'json';
  if ((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf) return 'msgpack';
  if (first === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'json'; // UTF-8 byte-order mark
  // Anything else is neither: report JSON's own error, which names the bad token.
  return 'json';
}

function validate(role: DecodableRole, value: unknown): void {
  const checker = checkers[role];
  if (checker.Check(value)) return;
  const first = checker.Errors(value).First();
  const field = first === undefined ? undefined : first.path.replace(/^\//, '').replaceAll('/', '.');
  if (first !== undefined && first.type === ValueErrorType.ObjectRequiredProperty) {
    throw new RecordError(ErrorCodes.MISSING_FIELD, `${role}: required field ${field} is missing`, field);
  }
  // The message names the rule, never the value: values may hold phone numbers or tokens.
  throw new RecordError(ErrorCodes.INVALID_FIELD, `${role}: field ${field || '(root)'}: ${first?.message ?? 'invalid'}`, field);
}

function normaliseTimes(role: DecodableRole, value: Record<string, unknown>): void {
  const fix = (obj: Record<string, unknown>, field: string, path: string) => {
    const raw = obj[field];
    if (raw === undefined) return;
    const ms = toEpochMs(raw as number | string);
    if (!Number.isFinite(ms)) throw new RecordError(ErrorCodes.INVALID_FIELD, `${role}: field ${path} is not a date`, path);
    obj[field] = ms;
  };
  if (role === 'events' || role === 'receipts') fix(value, 'ts', 'ts');
  if (role === 'campaigns') {
    const window = value['window'] as Record<string, unknown>;
    fix(window, 'start', 'window.start');
    fix(window, 'end', 'window.end');
    if ((window['end'] as number) <= (window['start'] as number)) {
      throw new RecordError(ErrorCodes.INVALID_FIELD, 'campaigns: window.end must be after window.start', 'window.end');
    }
  }
}
