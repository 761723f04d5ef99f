import { Type, type Static } from '@sinclair/typebox';
import { Category, Channel, Id, Timestamp } from './common.js';

const SmsTemplate = Type.Object({
  body: Type.String({ minLength: 1, maxLength: 2000 }),
  senderId: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
  dltEntityId: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  dltTemplateId: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  /** The registered DLT template text with {#var#} placeholders, for conformance checks. */
  dltTemplate: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
});

const PushTemplate = Type.Object({
  title: Type.String({ minLength: 1, maxLength: 200 }),
  body: Type.String({ minLength: 1, maxLength: 2000 }),
  image: Type.Optional(Type.String({ maxLength: 2048 })),
  deepLink: Type.Optional(Type.String({ maxLength: 2048 })),
  collapseKey: Type.Optional(Type.String({ maxLength: 64 })),
});

export const CampaignSchema = Type.Object({
  campaignId: Id,
  kind: Category,
  category: Type.Optional(Type.Integer({ minimum: 0, maximum: 9 })),
  priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  channels: Type.Array(Type.Union([Channel, Type.Literal('best')]), { minItems: 1, maxItems: 3 }),
  window: Type.Object({ start: Timestamp, end: Timestamp }),
  deadline: Type.Optional(Type.Union([Type.Literal('hard'), Type.Literal('soft')])),
  value: Type.Optional(Type.Number({ minimum: 0 })),
  threshold: Type.Optional(Type.Number()),
  budget: Type.Optional(
    Type.Object({ maxSends: Type.Optional(Type.Integer({ minimum: 0 })), maxCost: Type.Optional(Type.Number({ minimum: 0 })) }),
  ),
  maxPerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  defaultLanguage: Type.Optional(Type.String({ minLength: 2, maxLength: 16 })),
  templates: Type.Record(
    Type.String({ minLength: 2, maxLength: 16 }),
    Type.Object({ sms: Type.Optional(SmsTemplate), push: Type.Optional(PushTemplate) }),
  ),
  experiment: Type.Optional(
    Type.Object({
      id: Id,
      arms: Type.Array(Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }), weight: Type.Number({ minimum: 0 }) }), {
        minItems: 1,
        maxItems: 16,
      }),
    }),
  ),
});

export type CampaignInput = Static<typeof CampaignSchema>;
/** After decoding the window is epoch milliseconds. */
export type Campaign = Omit<CampaignInput, 'window'> & { window: { start: number; end: number } };
