import { localTime } from '../../operators/decisions/local-time.js';
import type { SimUser } from './population.js';

/**
 * The simulator's ground truth of how a user answers a message: never seen by nudge, used to
 * judge its decisions. Clicks follow the user's hour of activity, interest in the category and
 * fatigue from recent messages, by channel (p = hour affinity × interest × fatigue × channel);
 * opt-outs rise with fatigue and irrelevance.
 */
export interface Message {
  userId: string;
  channel: 'sms' | 'push';
  at: number;
  category: number;
}

const BASE_CLICK = { push: 0.035, sms: 0.02 } as const;
const BASE_OPT_OUT = { push: 0.002, sms: 0.006 } as const;
const WEEK = 7 * 86_400_000;

/** Messages to the same user in the week before `at`: what wears them out. */
export function recentCount(history: readonly number[], at: number): number {
  let n = 0;
  for (const t of history) if (t <= at && at - t < WEEK) n++;
  return n;
}

export function clickProbability(u: SimUser, m: Message, recent: number): number {
  const hour = Math.floor(localTime(m.at, u.timezone).minuteOfDay / 60);
  const affinity = u.traits.hourly[hour] ?? 1;
  const interest = 0.3 + (u.traits.interest[m.category] ?? 0.5);
  const fatigue = Math.exp(-u.traits.fatigue * recent);
  return Math.min(0.9, BASE_CLICK[m.channel] * affinity * interest * fatigue);
}

export function convertGivenClick(u: SimUser, m: Message): number {
  return Math.min(0.6, 0.06 + 0.2 * (u.traits.interest[m.category] ?? 0));
}

export function optOutProbability(u: SimUser, m: Message, recent: number): number {
  const irrelevance = 1.5 - (u.traits.interest[m.category] ?? 0.5);
  return Math.min(0.5, BASE_OPT_OUT[m.channel] * (u.traits.unsubscribe / 0.004) * (1 + u.traits.fatigue * recent) * irrelevance);
}
