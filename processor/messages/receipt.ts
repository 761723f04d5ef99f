import { Type, type Static } from '@sinclair/typebox';
import { Id, Timestamp } from './common.js';

export const RECEIPT_STATUSES = ['accepted', 'delivered', 'failed', 'undelivered', 'clicked', 'unregistered'] as const;

export const ReceiptSchema = Type.Object({
  sendId: Type.String({ minLength: 1, maxLength: 256 }),
  userId: Id,
  campaignId: Type.Optional(Type.Union([Id, Type.Null()])),
  provider: Type.String({ minLength: 1, maxLength: 64 }),
  status: Type.Union(RECEIPT_STATUSES.map((s) => Type.Literal(s))),
  code: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Number(), Type.Null()])),
  /** With `unregistered`: the push token that is gone. Without it, every push token of the user is taken as gone. */
  token: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  ts: Timestamp,
});

export type ReceiptStatus = (typeof RECEIPT_STATUSES)[number];
export type Receipt = Omit<Static<typeof ReceiptSchema>, 'ts'> & { ts: number };
