import type { SimUser } from './population.js';
import { clickProbability, convertGivenClick, optOutProbability, recentCount, type Message } from './response.js';

export interface Quality {
  policy: string;
  sends: number;
  clicksPer1000: number;
  conversionsPer1000: number;
  optOutsPer1000: number;
  /** Cost of the messages ÷ expected conversions. */
  costPerConversion: number;
}

/**
 * Expected outcomes of a set of messages under the ground truth: sums of true probabilities,
 * not samples, so two policies on the same world compare without sampling noise.
 */
export function evaluate(policy: string, messages: readonly Message[], userOf: (id: string) => SimUser, cost: (m: Message) => number): Quality {
  return rates(policy, tally(messages, userOf, cost));
}

/**
 * The sums behind a Quality row. Each user's messages are judged together (fatigue counts a
 * user's earlier messages), so tallies of disjoint sets of users add up to the tally of all:
 * replicas judge their own users and the sums are merged.
 */
export interface Tally {
  sends: number;
  clicks: number;
  conversions: number;
  optOuts: number;
  spend: number;
}

export function tally(messages: readonly Message[], userOf: (id: string) => SimUser, cost: (m: Message) => number): Tally {
  const byUser = new Map<string, Message[]>();
  for (const m of messages) {
    const list = byUser.get(m.userId);
    if (list === undefined) byUser.set(m.userId, [m]);
    else list.push(m);
  }
  const t: Tally = { sends: messages.length, clicks: 0, conversions: 0, optOuts: 0, spend: 0 };
  for (const [userId, list] of byUser) {
    const u = userOf(userId);
    list.sort((a, b) => a.at - b.at);
    const times: number[] = [];
    for (const m of list) {
      const recent = recentCount(times, m.at);
      const click = clickProbability(u, m, recent);
      t.clicks += click;
      t.conversions += click * convertGivenClick(u, m);
      t.optOuts += optOutProbability(u, m, recent);
      t.spend += cost(m);
      times.push(m.at);
    }
  }
  return t;
}

/** The sum of tallies of disjoint sets of users. */
export function addTallies(tallies: readonly Tally[]): Tally {
  const t: Tally = { sends: 0, clicks: 0, conversions: 0, optOuts: 0, spend: 0 };
  for (const x of tallies) {
    t.sends += x.sends;
    t.clicks += x.clicks;
    t.conversions += x.conversions;
    t.optOuts += x.optOuts;
    t.spend += x.spend;
  }
  return t;
}

/** A tally as rates per 1,000 messages and cost per conversion. */
export function rates(policy: string, t: Tally): Quality {
  const per1000 = (x: number) => (t.sends === 0 ? 0 : (x / t.sends) * 1000);
  return { policy, sends: t.sends, clicksPer1000: per1000(t.clicks), conversionsPer1000: per1000(t.conversions), optOutsPer1000: per1000(t.optOuts), costPerConversion: t.conversions === 0 ? 0 : t.spend / t.conversions };
}

export interface CandidateOffer {
  userId: string;
  channel: 'sms' | 'push';
  category: number;
  windowStart: number;
  windowEnd: number;
  /** Allowed send instants for this user (legal and quiet hours), from nudge's own rules. */
  allowed: (at: number) => boolean;
}

const SLOT = 15 * 60_000;

/** The baseline that times each message at the user's own most active hour, and caps nothing. */
export const OWN_BEST_HOUR = "user's best hour, no caps";

function slots(o: CandidateOffer): number[] {
  const out: number[] = [];
  for (let t = Math.ceil(o.windowStart / SLOT) * SLOT; t < o.windowEnd; t += SLOT) if (o.allowed(t)) out.push(t);
  return out;
}

/**
 * The slot of `open` in the local hour where the user's past activity was highest (the earliest
 * such slot on a tie); undefined without any past activity, or none of it in an open hour.
 */
export function ownBestSlot(open: readonly number[], activityByHour: readonly number[] | undefined, hourOf: (at: number) => number): number | undefined {
  if (activityByHour === undefined) return undefined;
  let best: number | undefined;
  let bestCount = 0;
  for (const t of open) {
    const count = activityByHour[hourOf(t)] ?? 0;
    if (count > bestCount) {
      best = t;
      bestCount = count;
    }
  }
  return best;
}

/** Everything the baselines need besides the offers: the truth for the oracle, and what each timing rule reads. */
export interface BaselineInputs {
  userOf: (id: string) => SimUser;
  /**
   * A uniform draw in [0, 1) for the random-time baseline's pick in this offer's window. Given
   * the offer, it can be the same whichever order, or replica, the offers are judged in.
   */
  rand: (o: CandidateOffer) => number;
  /** The slot at the population's most active local hour in the offer's window, if there is one. */
  populationBestHour: (o: CandidateOffer) => number | undefined;
  /** The user's past activity by local hour (what the pipeline loaded as their history), and the local hour of an instant for them. */
  ownActivity?: { byHour: (userId: string) => readonly number[] | undefined; hourOf: (userId: string, at: number) => number };
}

/**
 * What simpler policies would have sent for the same offers, and the oracle that knows each
 * user's true click probability. None of the simpler policies chooses whom to message or caps
 * anything: each sends every reachable, consenting candidate once. They differ in timing only:
 * the window's start, a random slot, the population's best hour, and (with `ownActivity`) each
 * user's own most active hour, which is personalised timing with no caps and no selection.
 */
export function baselines(offers: readonly CandidateOffer[], inputs: BaselineInputs): Record<string, Message[]> {
  const { userOf, rand, populationBestHour, ownActivity } = inputs;
  const out: Record<string, Message[]> = { 'window start': [], 'random time': [], 'population best hour': [] };
  if (ownActivity !== undefined) out[OWN_BEST_HOUR] = [];
  out['oracle'] = [];
  for (const o of offers) {
    const open = slots(o);
    if (open.length === 0) continue;
    const base = { userId: o.userId, channel: o.channel, category: o.category };
    (out['window start'] as Message[]).push({ ...base, at: open[0] as number });
    (out['random time'] as Message[]).push({ ...base, at: open[Math.floor(rand(o) * open.length)] as number });
    const best = populationBestHour(o);
    const popAt = best !== undefined && o.allowed(best) ? best : (open[0] as number);
    (out['population best hour'] as Message[]).push({ ...base, at: popAt });
    if (ownActivity !== undefined) {
      // Without a history of their own, the user gets the population's best hour.
      const own = ownBestSlot(open, ownActivity.byHour(o.userId), (t) => ownActivity.hourOf(o.userId, t));
      (out[OWN_BEST_HOUR] as Message[]).push({ ...base, at: own ?? popAt });
    }
    const u = userOf(o.userId);
    let top = open[0] as number;
    let topP = -1;
    // One message moved from slot to slot: a fresh object per slot was most of this function's time.
    const probe: Message = { ...base, at: top };
    for (const t of open) {
      probe.at = t;
      const p = clickProbability(u, probe, 0);
      if (p > topP) {
        topP = p;
        top = t;
      }
    }
    // The oracle also knows whom not to message: only where the expected gain beats the opt-out risk.
    if (topP > 4 * optOutProbability(u, { ...base, at: top }, 0)) (out['oracle'] as Message[]).push({ ...base, at: top });
  }
  return out;
}
