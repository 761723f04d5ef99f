import { Type } from '@sinclair/typebox';

/** Ids that become store keys: no control characters (NUL separates key elements), bounded length. */
export const Id = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f]+$' });

/** Epoch milliseconds, or an ISO-8601 string that decoding turns into epoch milliseconds. */
export const Timestamp = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 10, maxLength: 40 })]);

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
