import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pack, Packr } from 'msgpackr';
import { ErrorCodes, RecordError, type ErrorCode } from '../errors/index.js';
import { deadLetter, type DeadLetter } from '../processor/dead-letter.js';
import { decodeRecord, type DecodableRole, type DecodeLimits } from '../processor/decode.js';
import type { RawRecord } from '../processor/record.js';

const LIMITS: DecodeLimits = { maxRecordBytes: 4096 };
const TS = 1_763_712_000_000; // 2025-11-21T08:00:00Z

interface RawOptions {
  key?: string | Buffer | null;
  headers?: RawRecord['headers'];
  topic?: string;
  offset?: number;
}

function raw(value: string | Buffer | Uint8Array | null, options: RawOptions = {}): RawRecord {
  const key = options.key === undefined ? 'u1' : options.key;
  return {
    topic: options.topic ?? 'nudge.events',
    partition: 2,
    offset: options.offset ?? 17,
    key: key === null ? null : Buffer.isBuffer(key) ? key : Buffer.from(key, 'utf8'),
    value: value === null ? null : typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value),
    headers: options.headers ?? {},
    timestamp: TS,
  };
}

const event = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({ userId: 'u1', ts: TS, type: 'view', ...fields });
const json = (value: unknown): string => JSON.stringify(value);

/** Decodes, expecting a RecordError; returns it. */
function rejectOf(role: DecodableRole, record: RawRecord, limits: DecodeLimits = LIMITS): RecordError {
  try {
    const decoded = decodeRecord(role, record, limits);
    assert.fail(`expected a RecordError, decoded ${JSON.stringify(decoded)}`);
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    return err;
  }
}

interface CorpusCase {
  name: string;
  role: DecodableRole;
  record: RawRecord;
  code: ErrorCode;
  field?: string;
  limits?: DecodeLimits;
}

/** One case per way a record can be rejected: the dead-letter corpus. */
const corpus: readonly CorpusCase[] = [
  { name: 'truncated JSON', role: 'events', record: raw('{"userId":"u1","ts":17637'), code: ErrorCodes.MALFORMED_JSON },
  { name: 'ts as a boolean', role: 'events', record: raw(json(event({ ts: true }))), code: ErrorCodes.INVALID_FIELD, field: 'ts' },
  { name: 'userId missing', role: 'events', record: raw(json({ ts: TS, type: 'view' })), code: ErrorCodes.MISSING_FIELD, field: 'userId' },
  {
    name: 'value over maxRecordBytes',
    role: 'events',
    record: raw(json(event({ text: 'x'.repeat(300) }))),
    code: ErrorCodes.RECORD_TOO_LARGE,
    limits: { maxRecordBytes: 256 },
  },
  {
    name: 'invalid UTF-8 in a JSON value',
    role: 'events',
    record: raw(Buffer.concat([Buffer.from('{"userId":"u1","ts":1,"type":"view","text":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')])),
    code: ErrorCodes.INVALID_UTF8,
  },
  {
    name: 'unknown content-type',
    role: 'events',
    record: raw(json(event()), { headers: { 'content-type': 'text/plain' } }),
    code: ErrorCodes.UNKNOWN_CONTENT_TYPE,
  },
  { name: 'empty value', role: 'events', record: raw(Buffer.alloc(0)), code: ErrorCodes.EMPTY_VALUE },
  { name: 'key differs from userId', role: 'events', record: raw(json(event()), { key: 'u2' }), code: ErrorCodes.KEY_MISMATCH, field: 'userId' },
  { name: 'no key', role: 'events', record: raw(json(event()), { key: null }), code: ErrorCodes.MISSING_KEY, field: 'userId' },
  { name: 'a JSON array', role: 'events', record: raw(json([event()])), code: ErrorCodes.NOT_AN_OBJECT },
  {
    name: 'broken MessagePack',
    role: 'events',
    record: raw(Buffer.from(pack(event())).subarray(0, 10), { headers: { 'content-type': 'application/msgpack' } }),
    code: ErrorCodes.MALFORMED_MSGPACK,
  },
];

describe('decode: the dead-letter corpus', () => {
  for (const c of corpus) {
    test(`${c.name} → ${c.code}${c.field !== undefined ? ` (${c.field})` : ''}`, () => {
      const err = rejectOf(c.role, c.record, c.limits);
      assert.equal(err.code, c.code, err.message);
      assert.equal(err.field, c.field);
      assert.equal(err.retriable, false, 'a bad record never becomes good by retrying');
      assert.ok(err.message.length > 0);
    });
  }

  test('every case of the corpus has its own code, and every code is a released one', () => {
    const codes = corpus.map((c) => rejectOf(c.role, c.record, c.limits).code);
    assert.equal(new Set(codes).size, codes.length, `codes repeat: ${codes.join(', ')}`);
    const released = new Set<string>(Object.values(ErrorCodes));
    for (const code of codes) assert.ok(released.has(code), code);
  });
});

describe('decode: rejections in detail', () => {
  test('a value exactly at maxRecordBytes is accepted; one byte more is not', () => {
    const body = json(event());
    const limits = { maxRecordBytes: Buffer.byteLength(body) };
    assert.deepEqual(decodeRecord('events', raw(body), limits).value, event());
    const err = rejectOf('events', raw(`${body} `), limits);
    assert.equal(err.code, ErrorCodes.RECORD_TOO_LARGE);
  });

  test('an oversized record is dead-lettered with a truncated base64 copy', () => {
    const value = Buffer.from(json(event({ text: 'y'.repeat(1000) })));
    const record = raw(value, { offset: 99 });
    const err = rejectOf('events', record, { maxRecordBytes: 512 });
    assert.equal(err.code, ErrorCodes.RECORD_TOO_LARGE);
    const out = deadLetter(record, err, 64, 1234);
    assert.equal(out.role, 'deadletter');
    assert.equal(out.key, 'u1');
    const letter = out.value as DeadLetter;
    assert.equal(letter.truncated, true);
    assert.equal(letter.valueBytes, value.length);
    assert.ok(letter.value !== null);
    const kept = Buffer.from(letter.value, 'base64');
    assert.equal(kept.length, 64);
    assert.ok(kept.equals(value.subarray(0, 64)), 'the kept bytes are the start of the original');
    assert.deepEqual(letter.error, { code: ErrorCodes.RECORD_TOO_LARGE, message: err.message });
    assert.deepEqual([letter.topic, letter.partition, letter.offset, letter.ts], ['nudge.events', 2, 99, 1234]);
  });

  test('a small rejected record is dead-lettered whole, with its field', () => {
    const value = json({ ts: TS, type: 'view' });
    const record = raw(value);
    const err = rejectOf('events', record);
    const letter = deadLetter(record, err, 1024, 5).value as DeadLetter;
    assert.equal(letter.truncated, false);
    assert.equal(letter.valueBytes, Buffer.byteLength(value));
    assert.equal(Buffer.from(letter.value ?? '', 'base64').toString('utf8'), value);
    assert.deepEqual(letter.error, { code: ErrorCodes.MISSING_FIELD, message: err.message, field: 'userId' });
  });

  test('empty, exactly-at-cap and null values are dead-lettered whole, not marked truncated', () => {
    const record = raw(Buffer.alloc(0));
    const err = rejectOf('events', record);
    const empty = deadLetter(record, err, 16, 0).value as DeadLetter;
    assert.deepEqual([empty.value, empty.valueBytes, empty.truncated], ['', 0, false]);
    const sixteen = raw('0123456789abcdef');
    const letter = deadLetter(sixteen, { code: ErrorCodes.MALFORMED_JSON, message: 'x' }, 16, 0).value as DeadLetter;
    assert.deepEqual([letter.valueBytes, letter.truncated], [16, false]);
    const nullValue = deadLetter(raw(null), { code: ErrorCodes.EMPTY_VALUE, message: 'x' }, 16, 0).value as DeadLetter;
    assert.deepEqual([nullValue.value, nullValue.valueBytes, nullValue.truncated], [null, 0, false]);
  });

  test('invalid UTF-8 in the key is INVALID_UTF8 too', () => {
    const err = rejectOf('events', raw(json(event()), { key: Buffer.from([0x75, 0xff]) }));
    assert.equal(err.code, ErrorCodes.INVALID_UTF8);
  });

  test('an empty key counts as no key', () => {
    assert.equal(rejectOf('events', raw(json(event()), { key: '' })).code, ErrorCodes.MISSING_KEY);
  });

  test('other wrong types name their field', () => {
    const cases: Array<[DecodableRole, Record<string, unknown>, string]> = [
      ['events', event({ type: 'teleport' }), 'type'],
      ['events', event({ userId: 42 }), 'userId'],
      ['events', event({ value: -1 }), 'value'],
      ['events', event({ ts: -5 }), 'ts'],
      ['receipts', { sendId: 's1', userId: 'u1', provider: 'p', status: 'lost', ts: TS }, 'status'],
      ['profiles', { userId: 'u1', country: 'india' }, 'country'],
    ];
    for (const [role, value, field] of cases) {
      const err = rejectOf(role, raw(json(value)));
      assert.equal(err.code, ErrorCodes.INVALID_FIELD, `${role} ${json(value)}`);
      assert.equal(err.field, field, `${role} ${json(value)}`);
    }
  });

  test('a timestamp string that is not a date is INVALID_FIELD ts', () => {
    const err = rejectOf('events', raw(json(event({ ts: 'next tuesday!' }))));
    assert.deepEqual([err.code, err.field], [ErrorCodes.INVALID_FIELD, 'ts']);
  });

  test('JSON scalars and null are not objects', () => {
    for (const value of ['42', '"text"', 'true', 'null', '  [1, 2]']) {
      assert.equal(rejectOf('events', raw(value)).code, ErrorCodes.NOT_AN_OBJECT, value);
    }
  });

  test('a bad phone number is rejected without the number in the message', () => {
    const phones = ['+91 98765 43210', '919876543210', '+0919876543210', '+9198765432101234567'];
    for (const phone of phones) {
      const err = rejectOf('profiles', raw(json({ userId: 'u1', phone }), { topic: 'nudge.profiles' }));
      assert.equal(err.code, ErrorCodes.INVALID_FIELD, phone);
      assert.equal(err.field, 'phone');
      const digits = phone.replace(/\D/g, '');
      assert.ok(!err.message.includes(phone), `message leaks ${phone}: ${err.message}`);
      assert.ok(!err.message.replace(/\D/g, '').includes(digits.slice(2, 9)), `message leaks digits of ${phone}: ${err.message}`);
      assert.ok(!JSON.stringify(deadLetter(raw(json({ userId: 'u1', phone })), err, 0, 0)).includes(digits.slice(2, 9)), 'nor does a dead letter that keeps no bytes');
    }
    // As a number instead of a string.
    const err = rejectOf('profiles', raw('{"userId":"u1","phone":919876543210}'));
    assert.equal(err.field, 'phone');
    assert.ok(!err.message.includes('9876543210'), err.message);
  });
});

describe('decode: accepted records', () => {
  test('JSON decodes to the value, keyed by userId', () => {
    assert.deepEqual(decodeRecord('events', raw(json(event({ campaignId: 'c1' }))), LIMITS), { key: 'u1', value: event({ campaignId: 'c1' }) });
  });

  test('JSON with surrounding whitespace, a byte-order mark or a JSON content-type', () => {
    assert.equal(decodeRecord('events', raw(`\n  ${json(event())}\n`), LIMITS).key, 'u1');
    assert.equal(decodeRecord('events', raw(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json(event()))])), LIMITS).key, 'u1');
    const withHeader = raw(json(event()), { headers: { 'content-type': Buffer.from('Application/JSON; charset=utf-8') } });
    assert.deepEqual(decodeRecord('events', withHeader, LIMITS).value, event());
  });

  test('MessagePack decodes by its first byte, without a header', () => {
    // msgpackr's default pack writes every map as map16 (0xde); variableMapSize writes a fixmap (0x80–0x8f).
    const map16 = Buffer.from(pack(event({ value: 12.5 })));
    assert.equal(map16[0], 0xde);
    assert.deepEqual(decodeRecord('events', raw(map16), LIMITS), { key: 'u1', value: event({ value: 12.5 }) });
    const fixmap = Buffer.from(new Packr({ useRecords: false, variableMapSize: true }).pack(event({ value: 12.5 })));
    assert.equal(fixmap[0], 0x84);
    assert.deepEqual(decodeRecord('events', raw(fixmap), LIMITS), { key: 'u1', value: event({ value: 12.5 }) });
  });

  test('MessagePack decodes by its content-type header, whatever its first byte', () => {
    for (const type of ['application/msgpack', 'application/x-msgpack', 'application/vnd.msgpack; v=5']) {
      const decoded = decodeRecord('events', raw(Buffer.from(pack(event())), { headers: { 'content-type': type } }), LIMITS);
      assert.deepEqual(decoded.value, event(), type);
    }
    // Nested maps come back as plain objects.
    const props = { p1: 1, p19: 19 };
    const wide = Buffer.from(pack({ ...event(), props }));
    const ok = decodeRecord('events', raw(wide, { headers: { 'content-type': 'application/msgpack' } }), LIMITS);
    assert.deepEqual((ok.value as Record<string, unknown>)['props'], props);
    // A JSON body labelled as MessagePack is not silently read as JSON.
    const mislabelled = rejectOf('events', raw('{"userId":"u1"}', { headers: { 'content-type': 'application/msgpack' } }));
    assert.equal(mislabelled.code, ErrorCodes.MALFORMED_MSGPACK);
  });

  test('a content-type read again keeps its meaning, however many distinct ones came before', () => {
    // Formats of headers already seen are remembered: the second read, and reads past the
    // remembered set's bound, must decide exactly as the first.
    const types = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? `application/json; v=${i}` : `Application/MsgPack; v=${i}`));
    for (let round = 0; round < 3; round++) {
      for (const [i, type] of types.entries()) {
        const body = i % 2 === 0 ? json(event()) : Buffer.from(pack(event()));
        const header = round === 1 ? Buffer.from(type) : type;
        assert.deepEqual(decodeRecord('events', raw(body, { headers: { 'content-type': header } }), LIMITS).value, event(), `${type}, round ${round}`);
      }
      // A type that is not supported stays refused, and does not take a known type's meaning.
      assert.equal(rejectOf('events', raw(json(event()), { headers: { 'content-type': 'text/plain' } })).code, ErrorCodes.UNKNOWN_CONTENT_TYPE);
      assert.equal(rejectOf('events', raw(json(event()), { headers: { 'content-type': 'application/msgpack' } })).code, ErrorCodes.MALFORMED_MSGPACK);
    }
  });

  test('an ISO-8601 ts becomes epoch milliseconds, in JSON and MessagePack', () => {
    assert.equal((decodeRecord('events', raw(json(event({ ts: '2025-11-21T08:00:00Z' }))), LIMITS).value as { ts: number }).ts, TS);
    assert.equal((decodeRecord('events', raw(json(event({ ts: '2025-11-21T13:30:00.000+05:30' }))), LIMITS).value as { ts: number }).ts, TS);
    assert.equal((decodeRecord('events', raw(Buffer.from(pack(event({ ts: '2025-11-21T08:00:01.5Z' })))), LIMITS).value as { ts: number }).ts, TS + 1500);
    const receipt = decodeRecord('receipts', raw(json({ sendId: 's1', userId: 'u1', provider: 'p', status: 'delivered', ts: '2025-11-21T08:00:00Z' })), LIMITS);
    assert.equal((receipt.value as { ts: number }).ts, TS);
  });

  test('a ts that is not ISO-8601, or a time without its offset, is refused naming the field', () => {
    for (const ts of ['11/22/2026', 'Sun Nov 22 2026', '2026-11-22T10:00:00', '2026-11-22 10:00:00Z', '2026-11-22T10:00:00+05']) {
      const e = rejectOf('events', raw(json(event({ ts }))));
      assert.equal(e.code, ErrorCodes.INVALID_FIELD, ts);
      assert.equal(e.field, 'ts', ts);
    }
    // A date alone is midnight UTC; an offset without a colon is ISO-8601's basic form.
    assert.equal((decodeRecord('events', raw(json(event({ ts: '2025-11-21' }))), LIMITS).value as { ts: number }).ts, Date.UTC(2025, 10, 21));
    assert.equal((decodeRecord('events', raw(json(event({ ts: '2025-11-21T13:30:00+0530' }))), LIMITS).value as { ts: number }).ts, TS);
  });

  test('campaign windows become epoch milliseconds and must end after they start', () => {
    const campaign = {
      campaignId: 'c1',
      kind: 'promotional',
      channels: ['sms'],
      window: { start: '2025-11-21T08:00:00Z', end: '2025-11-22T08:00:00Z' },
      templates: { en: { sms: { body: 'hi' } } },
    };
    const decoded = decodeRecord('campaigns', raw(json(campaign), { key: 'c1' }), LIMITS);
    assert.deepEqual((decoded.value as { window: unknown }).window, { start: TS, end: TS + 86_400_000 });
    assert.equal(rejectOf('campaigns', raw(json(campaign), { key: 'u1' })).code, ErrorCodes.KEY_MISMATCH, 'a campaign is keyed by campaignId');
    const backwards = { ...campaign, window: { start: '2025-11-22T08:00:00Z', end: '2025-11-21T08:00:00Z' } };
    const err = rejectOf('campaigns', raw(json(backwards), { key: 'c1' }));
    assert.deepEqual([err.code, err.field], [ErrorCodes.INVALID_FIELD, 'window.end']);
  });

  test('a profile tombstone decodes to a null value; a null events value is EMPTY_VALUE', () => {
    assert.deepEqual(decodeRecord('profiles', raw(null, { topic: 'nudge.profiles' }), LIMITS), { key: 'u1', value: null });
    assert.deepEqual(decodeRecord('campaigns', raw(null, { key: 'c9' }), LIMITS), { key: 'c9', value: null });
    assert.equal(rejectOf('events', raw(null)).code, ErrorCodes.EMPTY_VALUE);
    assert.equal(rejectOf('candidates', raw(null)).code, ErrorCodes.EMPTY_VALUE);
    assert.equal(rejectOf('profiles', raw(null, { key: null })).code, ErrorCodes.MISSING_KEY, 'a tombstone needs a key');
  });

  test('a valid profile with a well-formed phone decodes', () => {
    const profile = { userId: 'u1', phone: '+919876543210', country: 'IN', consent: { sms: { promotional: true } } };
    assert.deepEqual(decodeRecord('profiles', raw(json(profile)), LIMITS).value, profile);
  });
});

test('decode: parse errors do not quote the value (phone numbers must not leak into dead letters or logs)', () => {
  const phone = '+919876543210';
  const json = Buffer.from(`{"userId":"u1","phone":${phone}}`);
  const record = { topic: 'nudge.profiles', partition: 0, offset: 0, key: Buffer.from('u1'), value: json, headers: {}, timestamp: 0 };
  assert.throws(() => decodeRecord('profiles', record, { maxRecordBytes: 10_000 }), (err: Error) => {
    assert.equal((err as RecordError).code, 'NUDGE_ERR_MALFORMED_JSON');
    assert.ok(!err.message.includes('9876543'), err.message);
    assert.match(err.message, /unexpected token/);
    return true;
  });
  const packed = Buffer.concat([pack({ userId: 'u1', phone }), Buffer.from([0xc1])]);
  assert.throws(() => decodeRecord('profiles', { ...record, value: packed }, { maxRecordBytes: 10_000 }), (err: Error) => {
    assert.equal((err as RecordError).code, 'NUDGE_ERR_MALFORMED_MSGPACK');
    assert.ok(!err.message.includes('9876543'), err.message);
    return true;
  });
});
