import { Type, type Static } from '@sinclair/typebox';
import { Id } from './common.js';

const CategoryConsent = Type.Object({
  promotional: Type.Optional(Type.Boolean()),
  service: Type.Optional(Type.Boolean()),
  transactional: Type.Optional(Type.Boolean()),
  reminder: Type.Optional(Type.Boolean()),
});

const HourMinute = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' });

export const ProfileSchema = Type.Object({
  userId: Id,
  country: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$' })),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  language: Type.Optional(Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$' })),
  phone: Type.Optional(Type.Union([Type.String({ pattern: '^\\+[1-9]\\d{6,14}$' }), Type.Null()])),
  consent: Type.Optional(Type.Object({ sms: Type.Optional(CategoryConsent), push: Type.Optional(CategoryConsent) })),
  ncpr: Type.Optional(
    Type.Object({
      fullyBlocked: Type.Optional(Type.Boolean()),
      allowedCategories: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 9 }), { maxItems: 10 })),
    }),
  ),
  pushTokens: Type.Optional(
    Type.Array(
      Type.Object({
        platform: Type.Union([Type.Literal('fcm'), Type.Literal('apns'), Type.Literal('web')]),
        token: Type.String({ minLength: 1, maxLength: 4096 }),
      }),
      { maxItems: 20 },
    ),
  ),
  quietHours: Type.Optional(Type.Union([Type.Object({ start: HourMinute, end: HourMinute }), Type.Null()])),
  value: Type.Optional(Type.Number({ minimum: 0 })),
  name: Type.Optional(Type.String({ maxLength: 200 })),
});

export type Profile = Static<typeof ProfileSchema>;
