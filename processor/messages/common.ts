import { Type } from '@sinclair/typebox';

/** Ids that become store keys: no control characters (NUL separates key elements), bounded length. */
export const Id = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f]+$' });

/**
 * ISO-8601 as producers write it: a date (midnight UTC), or a date and time with its offset (Z or
 * ±hh:mm). A time without an offset is refused rather than read in the replica's own time zone,
 * and other formats Date.parse happens to take ("11/22/2026") are refused as not ISO-8601.
 */
const ISO_8601 = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}(:?\\d{2})?))?$';

/** Epoch milliseconds, or an ISO-8601 string that decoding turns into epoch milliseconds. */
export const Timestamp = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 10, maxLength: 40, pattern: ISO_8601, description: 'ISO-8601 with an offset' })]);

export const Channel = Type.Union([Type.Literal('sms'), Type.Literal('push')]);
export const Category = Type.Union([
  Type.Literal('transactional'),
  Type.Literal('service'),
  Type.Literal('promotional'),
  Type.Literal('reminder'),
]);

/** Epoch ms from either form; NaN when the string is not a date. */
export function toEpochMs(value: number | string): number {
  return typeof value === 'number' ? value : Date.parse(value);
}
