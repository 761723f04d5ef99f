import type { Campaign } from '../../processor/messages/index.js';

export type Channel = 'sms' | 'push';
export type Kind = Campaign['kind'];

/** The reason codes of CONTRACT.md: every skip names at least one. */
export const REASONS = [
  'no_consent',
  'ncpr_blocked',
  'dlt_missing',
  'legal_hours',
  'quiet_hours',
  'cap_global',
  'cap_channel',
  'cap_category',
  'min_gap',
  'duplicate',
  'window_closed',
  'budget_exhausted',
  'low_value',
  'preempted',
  'no_channel',
  'unknown_campaign',
  'erased',
  'provider_unavailable',
  'invalid_template',
] as const;
export type Reason = (typeof REASONS)[number];

export type Action = 'send' | 'schedule' | 'skip' | 'holdout';

/** The user's profile as kept in state: what eligibility and delivery need, nothing more. */
export interface ProfileState {
  country?: string;
  timezone?: string;
  language?: string;
  /** Kept for delivery; never copied into decisions, sends or logs. */
  phone?: string | null;
  consent: { sms: Partial<Record<Kind, boolean>>; push: Partial<Record<Kind, boolean>> };
  ncpr?: { fullyBlocked?: boolean; allowedCategories?: number[] };
  pushTokens: Array<{ platform: 'fcm' | 'apns' | 'web'; token: string }>;
  quietHours?: { start: string; end: string } | null;
  value?: number;
  name?: string;
}

/** One message sent (or committed to be sent) to the user, for caps and gaps. Compact on purpose. */
export interface SendMark {
  /** Epoch ms of the send (or scheduled send). */
  t: number;
  ch: Channel;
  k: Kind;
  /** NCPR / business category of the campaign, when it has one. */
  cat?: number;
}

/** A scheduled, not yet sent message holding one of the user's capped slots. */
export interface PendingSend extends SendMark {
  decisionId: string;
  campaignId: string;
  /** Expected value at decision time: what a competing campaign must beat to preempt it. */
  ev: number;
  priority: number;
}

/** Exponentially decayed activity counters: `c[type][i]` is a count with time constant WINDOWS[i]. */
export interface ActivityFeatures {
  /** Epoch ms the decayed values are as of. */
  at: number;
  /** Per event type: decayed counts over 1 h, 24 h, 7 d, 30 d. */
  c: Partial<Record<string, [number, number, number, number]>>;
  /** Last time of each event type, epoch ms. */
  last: Partial<Record<string, number>>;
  /** Decayed hour-of-week histogram (168 buckets, user-local, Monday 00:00 first), scaled to integers. */
  how?: number[];
  /** Per channel: decayed sends and clicks (time constant 30 d). */
  ch: Partial<Record<Channel, { s: number; c: number }>>;
  /**
   * Events that name a business category (0–9: views, carts, purchases of that category's
   * products), decayed per category with time constant 30 d, as of `at`. Absent until the first.
   */
  cat?: number[];
}

/** Everything kept per user in the partition's state. */
export interface UserState {
  v: 1;
  profile?: ProfileState;
  features: ActivityFeatures;
  /** Sends within the longest cap window, oldest first. */
  sent: SendMark[];
  pending: PendingSend[];
}

/** The outcome of a rule: allowed, or not with its reasons, and possibly when it would be allowed. */
export interface RuleResult {
  reasons: Reason[];
  /** The earliest time (epoch ms) from which the rule would allow the message, when it can say. */
  allowedFrom?: number;
}
