/**
 * Training labels from the decision log and the event stream (DESIGN invariant 8: the logged
 * feature vector is the training input, so serving and training cannot drift apart).
 *
 * A message is a `send` or `schedule` decision carrying features of this feature version and
 * not later superseded (preempted, cancelled, expired); it was sent at `sendAt` (a schedule
 * is assumed to have fired unless superseded). Its outcomes, from events at or before `asOf`:
 *  - click: a click / push_open / sms_click event with the message's campaignId (and channel,
 *    when the event names one) within `clickMs` (24 h) of the send;
 *  - convert: a purchase attributed to the campaign (campaignId) within `convertMs` (72 h) of
 *    the send, or an unattributed purchase within `convertMs` after the message's click;
 *  - unsubscribe: an opt-out within `unsubscribeMs` (48 h) of the send: an SMS STOP (sms) or
 *    an uninstall (push). An opt-out names no campaign, so it is charged to the user's latest
 *    message on that channel before it (last touch), not to every message in the window.
 * Each label is final once its window has closed (`matureAt`); until then a 0 may still turn
 * into a 1 (delayed feedback, delayed-labels.ts).
 */
import { DEFAULT_COUNTRIES } from '../config/default-countries.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import { normalizeKeywordText } from '../operators/decisions/keywords.js';
import type { Channel } from '../operators/decisions/types.js';
import type { Head } from './heads.js';
import { epochMs, isObject } from './jsonl.js';

const HOUR = 3_600_000;

export interface LabelWindows {
  clickMs: number;
  convertMs: number;
  unsubscribeMs: number;
}

export const DEFAULT_WINDOWS: LabelWindows = { clickMs: 24 * HOUR, convertMs: 72 * HOUR, unsubscribeMs: 48 * HOUR };

export interface SentMessage {
  decisionId: string;
  campaignId: string;
  userId: string;
  channel: Channel;
  /** When the message went out: sendAt for a schedule, else the decision time. */
  sentAt: number;
  features: Float32Array;
  /** Logged probability of the arm (experiments.ts), for off-policy evaluation. */
  propensity: number;
  arm: string;
  modelVersion: string;
  /** The scores served at decision time (for tracking the served model's calibration). */
  loggedScores?: Record<Head, number>;
}

export interface LabeledMessage extends SentMessage {
  /** Time of the event that made each label 1; absent = 0 so far. */
  outcomes: Partial<Record<Head, number>>;
  /** When each label becomes final. */
  matureAt: Record<Head, number>;
}

/** The part of an event labels read. */
export interface OutcomeEvent {
  userId: string;
  ts: number;
  type: 'click' | 'push_open' | 'sms_click' | 'purchase' | 'sms_inbound' | 'uninstall';
  channel?: Channel | null;
  campaignId?: string | null;
  text?: string | null;
}

const CLICK_TYPES = new Set(['click', 'push_open', 'sms_click']);
const OUTCOME_TYPES = new Set(['click', 'push_open', 'sms_click', 'purchase', 'sms_inbound', 'uninstall']);

const DEFAULT_STOP_WORDS = new Set(Object.values(DEFAULT_COUNTRIES).flatMap((r) => r.stopKeywords.map(normalizeKeywordText)));

/**
 * Default opt-out test: an inbound SMS that is exactly a STOP keyword of any shipped country's
 * rules (keywords.ts semantics: whole message, normalised), or an app uninstall.
 */
export function defaultOptOutChannel(e: OutcomeEvent): Channel | undefined {
  if (e.type === 'sms_inbound') return typeof e.text === 'string' && DEFAULT_STOP_WORDS.has(normalizeKeywordText(e.text)) ? 'sms' : undefined;
  if (e.type === 'uninstall') return 'push';
  return undefined;
}

function str(x: unknown): string | undefined {
  return typeof x === 'string' && x.length > 0 ? x : undefined;
}

function channelOf(x: unknown): Channel | undefined {
  return x === 'sms' || x === 'push' ? x : undefined;
}

/** An event of a type labels use, or undefined (other types and malformed records). */
export function toOutcomeEvent(raw: unknown): OutcomeEvent | undefined {
  if (!isObject(raw)) return undefined;
  const userId = str(raw['userId']);
  const ts = epochMs(raw['ts']);
  const type = raw['type'];
  if (userId === undefined || ts === undefined || typeof type !== 'string' || !OUTCOME_TYPES.has(type)) return undefined;
  return {
    userId,
    ts,
    type: type as OutcomeEvent['type'],
    channel: channelOf(raw['channel']) ?? null,
    campaignId: str(raw['campaignId']) ?? null,
    text: typeof raw['text'] === 'string' ? raw['text'] : null,
  };
}

/** A decision record with the fields labels need, or undefined. */
export function toDecisionRecord(raw: unknown): DecisionRecord | undefined {
  if (!isObject(raw)) return undefined;
  if (str(raw['decisionId']) === undefined || str(raw['campaignId']) === undefined || str(raw['userId']) === undefined) return undefined;
  if (typeof raw['action'] !== 'string' || epochMs(raw['ts']) === undefined) return undefined;
  return { ...(raw as unknown as DecisionRecord), ts: epochMs(raw['ts']) as number };
}

export interface MessageStats {
  records: number;
  byAction: Record<string, number>;
  superseded: number;
  withoutFeatures: number;
  otherFeatureVersion: number;
  duplicates: number;
  messages: number;
}

/** Sent messages from decision records (any order; a supersede may arrive before or after). */
export async function collectMessages(records: AsyncIterable<DecisionRecord> | Iterable<DecisionRecord>, featureVersion: string, featureCount: number): Promise<{ messages: SentMessage[]; stats: MessageStats }> {
  const stats: MessageStats = { records: 0, byAction: {}, superseded: 0, withoutFeatures: 0, otherFeatureVersion: 0, duplicates: 0, messages: 0 };
  const byId = new Map<string, SentMessage>();
  const cancelled = new Set<string>();
  for await (const r of records) {
    stats.records++;
    stats.byAction[r.action] = (stats.byAction[r.action] ?? 0) + 1;
    if (r.supersedes !== undefined) {
      cancelled.add(r.decisionId);
      continue;
    }
    if (r.action !== 'send' && r.action !== 'schedule') continue;
    if (r.channel !== 'sms' && r.channel !== 'push') continue;
    if (!Array.isArray(r.features)) {
      stats.withoutFeatures++;
      continue;
    }
    if (r.featureVersion !== featureVersion || r.features.length !== featureCount) {
      stats.otherFeatureVersion++;
      continue;
    }
    // At most one send/schedule per decision (CONTRACT); a replayed copy adds nothing.
    if (byId.has(r.decisionId)) {
      stats.duplicates++;
      continue;
    }
    byId.set(r.decisionId, {
      decisionId: r.decisionId,
      campaignId: r.campaignId,
      userId: r.userId,
      channel: r.channel,
      sentAt: r.action === 'schedule' && typeof r.sendAt === 'number' ? r.sendAt : r.ts,
      features: Float32Array.from(r.features, (v) => (typeof v === 'number' && Number.isFinite(v) ? v : NaN)),
      propensity: typeof r.propensity === 'number' ? r.propensity : 1,
      arm: typeof r.arm === 'string' ? r.arm : 'default',
      modelVersion: typeof r.modelVersion === 'string' ? r.modelVersion : 'unknown',
      ...(r.scores !== null && typeof r.scores === 'object' ? { loggedScores: { click: r.scores.click, convert: r.scores.convert, unsubscribe: r.scores.unsubscribe } } : {}),
    });
  }
  const messages: SentMessage[] = [];
  for (const [id, m] of byId) {
    if (cancelled.has(id)) stats.superseded++;
    else messages.push(m);
  }
  stats.messages = messages.length;
  return { messages, stats };
}

export interface OutcomeStats {
  events: number;
  used: Record<OutcomeEvent['type'], number>;
  afterAsOf: number;
  labeled: Record<Head, number>;
}

export interface OutcomeOptions {
  asOf: number;
  windows?: Partial<LabelWindows>;
  /** Channel an event opts the user out of, or undefined (default: defaultOptOutChannel). */
  optOutChannel?: (e: OutcomeEvent) => Channel | undefined;
}

/** First element of sorted `ts` in [lo, hi], or undefined. */
function firstIn(sorted: readonly number[], lo: number, hi: number): number | undefined {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if ((sorted[m] as number) < lo) a = m + 1;
    else b = m;
  }
  const v = sorted[a];
  return v !== undefined && v <= hi ? v : undefined;
}

/** Joins outcome events to messages; events after `asOf` are ignored (they had not happened yet). */
export async function attachOutcomes(messages: readonly SentMessage[], events: AsyncIterable<OutcomeEvent> | Iterable<OutcomeEvent>, opts: OutcomeOptions): Promise<{ labeled: LabeledMessage[]; stats: OutcomeStats }> {
  const w: LabelWindows = { ...DEFAULT_WINDOWS, ...opts.windows };
  const optOut = opts.optOutChannel ?? defaultOptOutChannel;
  const users = new Set(messages.map((m) => m.userId));
  const stats: OutcomeStats = {
    events: 0,
    used: { click: 0, push_open: 0, sms_click: 0, purchase: 0, sms_inbound: 0, uninstall: 0 },
    afterAsOf: 0,
    labeled: { click: 0, convert: 0, unsubscribe: 0 },
  };
  // Only what can label a message is kept: clicks by (user, campaign), purchases and opt-outs by user.
  const clicks = new Map<string, Array<{ ts: number; channel: Channel | undefined }>>();
  const attributed = new Map<string, number[]>();
  const unattributed = new Map<string, number[]>();
  const optOuts = new Map<string, Array<{ ts: number; channel: Channel }>>();
  const push = <V>(map: Map<string, V[]>, key: string, v: V): void => {
    const list = map.get(key);
    if (list === undefined) map.set(key, [v]);
    else list.push(v);
  };
  for await (const e of events) {
    stats.events++;
    if (!users.has(e.userId)) continue;
    if (e.ts > opts.asOf) {
      stats.afterAsOf++;
      continue;
    }
    if (CLICK_TYPES.has(e.type)) {
      if (e.campaignId === null || e.campaignId === undefined) continue;
      push(clicks, `${e.userId}\u0000${e.campaignId}`, { ts: e.ts, channel: e.channel ?? undefined });
    } else if (e.type === 'purchase') {
      if (e.campaignId !== null && e.campaignId !== undefined) push(attributed, `${e.userId}\u0000${e.campaignId}`, e.ts);
      else push(unattributed, e.userId, e.ts);
    } else {
      const ch = optOut(e);
      if (ch === undefined) continue;
      push(optOuts, e.userId, { ts: e.ts, channel: e.channel ?? ch });
    }
    stats.used[e.type]++;
  }
  for (const list of clicks.values()) list.sort((a, b) => a.ts - b.ts);
  for (const list of attributed.values()) list.sort((a, b) => a - b);
  for (const list of unattributed.values()) list.sort((a, b) => a - b);

  const labeled: LabeledMessage[] = messages.map((m) => {
    const key = `${m.userId}\u0000${m.campaignId}`;
    const outcomes: Partial<Record<Head, number>> = {};
    const click = clicks.get(key)?.find((c) => c.ts >= m.sentAt && c.ts <= m.sentAt + w.clickMs && (c.channel === undefined || c.channel === m.channel));
    if (click !== undefined) outcomes.click = click.ts;
    const viaCampaign = firstIn(attributed.get(key) ?? [], m.sentAt, m.sentAt + w.convertMs);
    const viaClick = click === undefined ? undefined : firstIn(unattributed.get(m.userId) ?? [], click.ts, click.ts + w.convertMs);
    const conv = viaCampaign === undefined ? viaClick : viaClick === undefined ? viaCampaign : Math.min(viaCampaign, viaClick);
    if (conv !== undefined) outcomes.convert = conv;
    return {
      ...m,
      outcomes,
      // A click-attributed purchase can come up to clickMs + convertMs after the send.
      matureAt: { click: m.sentAt + w.clickMs, convert: m.sentAt + w.clickMs + w.convertMs, unsubscribe: m.sentAt + w.unsubscribeMs },
    };
  });

  // Last touch: each opt-out goes to the user's latest message on that channel sent before it, within the window.
  const byUserChannel = new Map<string, LabeledMessage[]>();
  for (const m of labeled) push(byUserChannel, `${m.userId}\u0000${m.channel}`, m);
  for (const list of byUserChannel.values()) list.sort((a, b) => a.sentAt - b.sentAt);
  for (const [userId, outs] of optOuts) {
    for (const o of outs) {
      const list = byUserChannel.get(`${userId}\u0000${o.channel}`);
      if (list === undefined) continue;
      let target: LabeledMessage | undefined;
      for (const m of list) {
        if (m.sentAt <= o.ts) target = m;
        else break;
      }
      if (target !== undefined && o.ts - target.sentAt <= w.unsubscribeMs && target.outcomes.unsubscribe === undefined) target.outcomes.unsubscribe = o.ts;
    }
  }
  for (const m of labeled) for (const h of ['click', 'convert', 'unsubscribe'] as const) if (m.outcomes[h] !== undefined) stats.labeled[h]++;
  return { labeled, stats };
}
