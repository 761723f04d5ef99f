import { Type, type Static } from '@sinclair/typebox';
import { Channel, Id, Timestamp } from './common.js';

export const EVENT_TYPES = ['app_open', 'view', 'click', 'add_to_cart', 'purchase', 'push_open', 'sms_click', 'sms_inbound', 'uninstall'] as const;

export const EventSchema = Type.Object({
  userId: Id,
  ts: Timestamp,
  type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))),
  channel: Type.Optional(Type.Union([Channel, Type.Null()])),
  campaignId: Type.Optional(Type.Union([Id, Type.Null()])),
  value: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
  // The business category (as campaigns number them) of what was viewed, carted or bought.
  category: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 9 }), Type.Null()])),
  text: Type.Optional(Type.Union([Type.String({ maxLength: 1600 }), Type.Null()])),
  props: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
});

export type EventType = (typeof EVENT_TYPES)[number];
/** After decoding `ts` is always epoch milliseconds. */
export type UserEvent = Omit<Static<typeof EventSchema>, 'ts'> & { ts: number };
