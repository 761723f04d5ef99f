import type { SendRecord } from '../../operators/sinks/dispatcher.js';
import { profileRecord, type SimUser } from './population.js';
import { hashString, logNormal, mixSeed, mulberry32, type Rng } from './random.js';
import { clickProbability, convertGivenClick, optOutProbability, recentCount, type Message } from './response.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Attribution window of a conversion: a purchase later than this is not credited to the message. */
export const CONVERSION_HORIZON_MS = 72 * HOUR;

export type FeedbackKind = 'click' | 'conversion' | 'opt_out';

/** One answer to a send: a record for an input topic, due at `at` on the simulated clock. */
export interface Feedback {
  kind: FeedbackKind;
  at: number;
  userId: string;
  /** `events` for clicks, purchases and SMS STOP replies; `profiles` when a user turns off push. */
  role: 'events' | 'profiles';
  value: Record<string, unknown>;
}

/** The ground truth the responder samples from: response.ts unless a test forces outcomes. */
export interface ResponseModel {
  click(u: SimUser, m: Message, recent: number): number;
  convertGivenClick(u: SimUser, m: Message): number;
  optOut(u: SimUser, m: Message, recent: number): number;
}

export const GROUND_TRUTH: ResponseModel = { click: clickProbability, convertGivenClick, optOut: optOutProbability };

export interface ResponderOptions {
  seed: number;
  /** Business category of a campaign the simulated users answer; undefined for one they ignore (OTPs are typed in, not clicked). */
  categoryOf: (campaignId: string) => number | undefined;
  model?: ResponseModel;
}

export interface ResponderCounts {
  answered: number;
  clicks: number;
  conversions: number;
  optOuts: number;
  /** Sends on a channel after the user's opt-out from it was due to reach nudge: should stay 0. */
  afterOptOut: number;
}

/**
 * The simulated users answering nudge's messages: for each send that went out, a click, a
 * purchase credited to the campaign and an opt-out are drawn from the ground truth, with
 * delays, as records for nudge's input topics. Fed back, they let nudge learn from its own
 * outcomes (clicks as features, fatigue, consent withdrawn) as it would in production.
 *
 * Draws are seeded by (seed, sendId), so a send gets the same answer whatever order sends
 * are read in. Fatigue counts the messages this responder has answered for the user in the
 * week before, as the ground truth's evaluation does.
 */
export class Responder {
  readonly counts: ResponderCounts = { answered: 0, clicks: 0, conversions: 0, optOuts: 0, afterOptOut: 0 };
  readonly #opts: ResponderOptions;
  readonly #model: ResponseModel;
  readonly #history = new Map<string, number[]>();
  /** When each user opted out of a channel (the STOP reaches nudge then, not at the draw). */
  readonly #optedOut = new Map<string, Map<'sms' | 'push', number>>();

  constructor(opts: ResponderOptions) {
    this.#opts = opts;
    this.#model = opts.model ?? GROUND_TRUTH;
  }

  answer(send: SendRecord, user: SimUser): Feedback[] {
    if (send.status !== 'sent') return [];
    const category = this.#opts.categoryOf(send.campaignId);
    if (category === undefined) return [];
    const channel = send.channel;
    const opted = this.#optedOut.get(user.userId);
    const optedAt = opted?.get(channel);
    if (optedAt !== undefined && send.ts >= optedAt) {
      // A carrier blocks an SMS to a number that texted STOP; the user ignores the push. Either way: no answer.
      this.counts.afterOptOut++;
      return [];
    }
    const rng = mulberry32(mixSeed(this.#opts.seed, hashString(send.sendId)));
    const m: Message = { userId: user.userId, channel, at: send.ts, category };
    const history = this.#history.get(user.userId) ?? [];
    const recent = recentCount(history, send.ts);
    history.push(send.ts);
    this.#history.set(user.userId, history);
    this.counts.answered++;

    // Every draw is made whatever the outcome, so one probability changing leaves the other draws alone.
    // Times are whole milliseconds: the contract's timestamps are integers.
    const clickDraw = rng();
    const convertDraw = rng();
    const optOutDraw = rng();
    const clickDelay = Math.round(clamp(logNormal(rng, 3 * MINUTE, 1), 20_000, 6 * HOUR));
    const convertDelay = Math.round(conversionDelay(rng));
    const optOutDelay = Math.round(clamp(logNormal(rng, 8 * MINUTE, 1), MINUTE, 24 * HOUR));
    const value = Math.round(clamp(logNormal(rng, 900, 0.6), 99, 20_000));

    const out: Feedback[] = [];
    const base = { userId: user.userId, channel, campaignId: send.campaignId };
    if (clickDraw < this.#model.click(user, m, recent)) {
      const clickAt = send.ts + clickDelay;
      this.counts.clicks++;
      out.push({ kind: 'click', at: clickAt, userId: user.userId, role: 'events', value: { ...base, ts: clickAt, type: channel === 'push' ? 'push_open' : 'sms_click' } });
      if (convertDraw < this.#model.convertGivenClick(user, m)) {
        const buyAt = Math.min(send.ts + CONVERSION_HORIZON_MS, clickAt + convertDelay);
        this.counts.conversions++;
        out.push({ kind: 'conversion', at: buyAt, userId: user.userId, role: 'events', value: { ...base, ts: buyAt, type: 'purchase', value } });
      }
    }
    if (optOutDraw < this.#model.optOut(user, m, recent)) {
      const at = send.ts + optOutDelay;
      this.counts.optOuts++;
      const times = opted ?? new Map<'sms' | 'push', number>();
      times.set(channel, Math.min(at, optedAt ?? Infinity));
      this.#optedOut.set(user.userId, times);
      out.push(channel === 'sms' ? { kind: 'opt_out', at, userId: user.userId, role: 'events', value: { userId: user.userId, ts: at, type: 'sms_inbound', channel: 'sms', text: 'STOP' } } : { kind: 'opt_out', at, userId: user.userId, role: 'profiles', value: this.#profileWithout(user, new Set(times.keys())) });
    }
    return out;
  }

  /**
   * Push has no reply keyword: a user who is done with it turns notifications off in the app,
   * and the app's backend publishes the profile with push consent withdrawn (a profile record
   * is the whole profile, per the contract, so SMS withdrawals are carried too).
   */
  #profileWithout(user: SimUser, opted: ReadonlySet<'sms' | 'push'>): Record<string, unknown> {
    const off = { promotional: false, service: false, reminder: false, transactional: true };
    return profileRecord({ ...user, consent: { sms: opted.has('sms') ? off : user.consent.sms, push: opted.has('push') ? off : user.consent.push } });
  }
}

/**
 * Delay from click to purchase: most buy in the session the message opened (minutes), the
 * rest come back hours or days later (a log-normal with a median of 10 h); capped by the
 * caller at the 72-hour attribution window.
 */
function conversionDelay(rng: Rng): number {
  return rng() < 0.55 ? clamp(logNormal(rng, 12 * MINUTE, 0.6), 2 * MINUTE, 2 * HOUR) : clamp(logNormal(rng, 10 * HOUR, 1.1), HOUR, CONVERSION_HORIZON_MS);
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Feedback waiting for the simulated clock to reach it, released in time order. */
export class FeedbackQueue {
  #items: Feedback[] = [];
  #sorted = true;

  push(items: readonly Feedback[]): void {
    if (items.length === 0) return;
    this.#items.push(...items);
    this.#sorted = false;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Removes and returns everything due at or before `now`, earliest first. */
  due(now: number): Feedback[] {
    if (!this.#sorted) {
      this.#items.sort((a, b) => a.at - b.at);
      this.#sorted = true;
    }
    let n = 0;
    while (n < this.#items.length && (this.#items[n] as Feedback).at <= now) n++;
    return this.#items.splice(0, n);
  }

  /** What is still waiting, by kind (answers that fall after the run ends). */
  pending(): Record<FeedbackKind, number> {
    const out: Record<FeedbackKind, number> = { click: 0, conversion: 0, opt_out: 0 };
    for (const f of this.#items) out[f.kind]++;
    return out;
  }
}
