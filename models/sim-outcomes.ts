/**
 * What a simulated user does after a message, drawn from the simulator's ground truth
 * (bench/sim/response.ts): a click within hours, a purchase up to 72 h after the send, an
 * opt-out (SMS STOP, push uninstall) within two days. The true probabilities are returned with
 * the draws, so a model's ranking and calibration can be judged against the truth itself.
 */
import type { SimUser } from '../bench/sim/population.js';
import { clickProbability, convertGivenClick, optOutProbability, recentCount, type Message } from '../bench/sim/response.js';
import type { Head } from './heads.js';
import type { OutcomeEvent } from './labels.js';
import type { Rng } from './random.js';

const HOUR = 3_600_000;

// Delays, exponential and cut inside the label windows of labels.ts (24 h, 72 h, 48 h), so a
// final label is exactly a Bernoulli draw of the true probability. Clicks come soon (mean 1 h);
// purchases after a click take longer (mean 18 h), which keeps conversion labels in flight for
// days, the case delayed-label handling exists for; opt-outs come within hours (mean 3 h).
const CLICK_MEAN_MS = 1 * HOUR;
const CLICK_MAX_MS = 23 * HOUR;
const CONVERT_MEAN_MS = 18 * HOUR;
const CONVERT_MAX_MS = 71 * HOUR;
const OPT_OUT_MEAN_MS = 3 * HOUR;
const OPT_OUT_MAX_MS = 47 * HOUR;

export type TrueProbabilities = Record<Head, number>;

// Population means of the traits no logged feature measures (population.ts): the opt-out base is log-normal with median 0.004;
// fatigue is uniform on [0.1, 0.5].
const TYPICAL = { unsubscribe: 0.004, fatigue: 0.3 } as const;

/**
 * The user with the traits nudge cannot observe set to the population's typical values (fatigue
 * sensitivity and the opt-out base); what stays is what the user's events show, given enough of
 * them: the hour-of-day habit, interest per category (what they view and buy), the messages
 * sent. Its probabilities bound how well a model of the logged features can rank, which
 * estimates those from a finite history and sees the hidden traits only through past clicks.
 */
export function withTypicalHiddenTraits(u: SimUser): SimUser {
  const t = u.traits;
  return { ...u, traits: { ...t, unsubscribe: TYPICAL.unsubscribe, fatigue: TYPICAL.fatigue } };
}

export interface DrawnOutcomes {
  p: TrueProbabilities;
  /** The same with the unobservable traits at typical values (withTypicalHiddenTraits). */
  pVisible: TrueProbabilities;
  y: Record<Head, 0 | 1>;
  events: OutcomeEvent[];
}

function delay(rng: Rng, mean: number, max: number): number {
  return Math.floor(Math.min(-Math.log(Math.max(rng(), 1e-12)) * mean, max));
}

/** True probabilities of a message, given the user's earlier messages (`history`, send instants). */
export function trueProbabilities(u: SimUser, m: Message, history: readonly number[]): TrueProbabilities {
  const recent = recentCount(history, m.at);
  const click = clickProbability(u, m, recent);
  return { click, convert: click * convertGivenClick(u, m), unsubscribe: optOutProbability(u, m, recent) };
}

/** Draws the outcomes of one message sent at m.at for `campaignId`. */
export function drawOutcomes(rng: Rng, u: SimUser, m: Message, campaignId: string, history: readonly number[]): DrawnOutcomes {
  const p = trueProbabilities(u, m, history);
  const pVisible = trueProbabilities(withTypicalHiddenTraits(u), m, history);
  const events: OutcomeEvent[] = [];
  const y: Record<Head, 0 | 1> = { click: 0, convert: 0, unsubscribe: 0 };
  if (rng() < p.click) {
    y.click = 1;
    const clickAt = m.at + delay(rng, CLICK_MEAN_MS, CLICK_MAX_MS);
    events.push({ userId: u.userId, ts: clickAt, type: m.channel === 'push' ? 'push_open' : 'sms_click', channel: m.channel, campaignId });
    if (rng() < p.convert / p.click) {
      y.convert = 1;
      const at = Math.min(clickAt + delay(rng, CONVERT_MEAN_MS, CONVERT_MAX_MS), m.at + CONVERT_MAX_MS);
      events.push({ userId: u.userId, ts: at, type: 'purchase', campaignId });
    }
  }
  if (rng() < p.unsubscribe) {
    y.unsubscribe = 1;
    const at = m.at + delay(rng, OPT_OUT_MEAN_MS, OPT_OUT_MAX_MS);
    events.push(m.channel === 'sms' ? { userId: u.userId, ts: at, type: 'sms_inbound', channel: 'sms', text: 'STOP' } : { userId: u.userId, ts: at, type: 'uninstall' });
  }
  return { p, pVisible, y, events };
}
