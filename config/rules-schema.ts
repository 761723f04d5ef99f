import { Type, type Static } from '@sinclair/typebox';

/*
 * Compliance and policy rules: every value a regulation or a business sets lives here,
 * per country, versioned with the config, never in operator code.
 */

const HourMinute = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$|^24:00$', description: 'HH:MM, local time; 24:00 is the end of the day' });
const KindName = Type.Union([Type.Literal('transactional'), Type.Literal('service'), Type.Literal('promotional'), Type.Literal('reminder')]);
const ChannelName = Type.Union([Type.Literal('sms'), Type.Literal('push')]);

/** Local-time windows, per ISO weekday (1 = Monday … 7 = Sunday). A day with no window allows nothing. */
export const SendingWindowSchema = Type.Object(
  {
    days: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7 }),
    start: HourMinute,
    end: HourMinute,
  },
  { additionalProperties: false },
);

export const HoursRuleSchema = Type.Object(
  {
    channels: Type.Array(ChannelName, { minItems: 1 }),
    kinds: Type.Array(KindName, { minItems: 1 }),
    windows: Type.Array(SendingWindowSchema, { description: 'allowed local-time windows; sending outside all of them is refused (legal_hours)' }),
    source: Type.Optional(Type.String({ description: 'the rule this encodes, for audits' })),
  },
  { additionalProperties: false },
);

export const CountryRulesSchema = Type.Object(
  {
    timezone: Type.Optional(Type.String({ description: 'zone for users of this country who have none' })),
    legalHours: Type.Array(HoursRuleSchema, { default: [] }),
    /** India: SMS needs DLT entity, template and sender ids. */
    requireDlt: Type.Boolean({ default: false }),
    /** India: promotional SMS honours the NCPR preferences. */
    ncpr: Type.Boolean({ default: false }),
    stopKeywords: Type.Array(Type.String(), { default: [] }),
    startKeywords: Type.Array(Type.String(), { default: [] }),
    helpKeywords: Type.Array(Type.String(), { default: [] }),
  },
  { additionalProperties: false },
);

export const CapRuleSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    scope: Type.Union([Type.Literal('global'), Type.Literal('channel'), Type.Literal('category')]),
    /** For scope channel: which channel; omitted = each channel separately. */
    channel: Type.Optional(ChannelName),
    /** For scope category: the NCPR/business category; omitted = each category separately. */
    category: Type.Optional(Type.Integer({ minimum: 0, maximum: 9 })),
    /** Message kinds this cap counts and limits. Transactional messages are never capped. */
    kinds: Type.Array(KindName, { minItems: 1, default: ['promotional', 'reminder'] }),
    max: Type.Integer({ minimum: 0 }),
    /** Rolling window, in ms… */
    windowMs: Type.Optional(Type.Integer({ minimum: 60_000 })),
    /** …or a number of the user's local calendar days (1 = today). */
    localDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 31 })),
  },
  { additionalProperties: false },
);

export const PolicySchema = Type.Object(
  {
    caps: Type.Array(CapRuleSchema, {
      default: [
        { name: 'promo-per-local-day', scope: 'global', kinds: ['promotional', 'reminder'], max: 3, localDays: 1 },
        { name: 'promo-per-week', scope: 'global', kinds: ['promotional', 'reminder'], max: 10, windowMs: 7 * 86_400_000 },
        { name: 'sms-per-local-day', scope: 'channel', channel: 'sms', kinds: ['promotional', 'reminder'], max: 2, localDays: 1 },
        { name: 'per-category-per-local-day', scope: 'category', kinds: ['promotional'], max: 2, localDays: 1 },
      ],
      description: 'all rules apply together (AND)',
    }),
    minGapMs: Type.Integer({ minimum: 0, default: 2 * 3_600_000, description: 'minimum time between two non-transactional messages to one user' }),
    controlGroupPercent: Type.Number({ minimum: 0, maximum: 50, default: 5, description: 'global control group: no promotional messages' }),
    controlGroupSalt: Type.String({ default: 'nudge-global-control-v1', description: 'changing it reshuffles the control group' }),
    slotMinutes: Type.Integer({ minimum: 1, maximum: 240, default: 15, description: 'send-time granularity' }),
    maxSlotsScored: Type.Integer({
      minimum: 1,
      maximum: 672,
      default: 32,
      description: 'slots scored per channel per candidate, evenly spread over the window; scoring is most of a decision\'s cost',
    }),
    unsubscribeWeight: Type.Number({
      minimum: 0,
      default: 0.05,
      description: 'λ: weight of p(unsubscribe)·user value in expected value; an opt-out loses the channel, not the customer, so a small share of the user value',
    }),
    defaultThreshold: Type.Number({ default: 0, description: 'expected value a send must exceed when the campaign sets none' }),
    defaultUserValue: Type.Number({ minimum: 0, default: 500, description: 'value of a user whose profile has none' }),
    defaultCountry: Type.String({ pattern: '^[A-Z]{2}$', default: 'IN' }),
    defaultTimezone: Type.String({ default: 'Asia/Kolkata' }),
    unknownCampaignWaitMs: Type.Integer({ minimum: 0, default: 300_000, description: 'how long a candidate waits for its campaign to appear' }),
    maxScheduleAheadMs: Type.Integer({ minimum: 60_000, default: 7 * 86_400_000 }),
    /** Price per SMS segment when no provider is configured for a country. */
    smsSegmentPrice: Type.Number({ minimum: 0, default: 0.12 }),
    pushPrice: Type.Number({ minimum: 0, default: 0.0001 }),
    /** Users' send history is kept this long (at least the longest cap window). */
    historyMs: Type.Integer({ minimum: 86_400_000, default: 8 * 86_400_000 }),
  },
  { additionalProperties: false, default: {} },
);

export type SendingWindow = Static<typeof SendingWindowSchema>;
export type HoursRule = Static<typeof HoursRuleSchema>;
export type CountryRules = Static<typeof CountryRulesSchema>;
export type CapRule = Static<typeof CapRuleSchema>;
export type PolicyConfig = Static<typeof PolicySchema>;
