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

// The traits no logged feature measures (population.ts): fatigue sensitivity, uniform on
// [0.1, 0.5], and the opt-out base, log-normal with median 0.004 and σ 0.7.
const FATIGUE_RANGE = [0.1, 0.5] as const;
const FATIGUE_GRID = 41;
const MEAN_UNSUBSCRIBE = 0.004 * Math.exp(0.7 ** 2 / 2);

/**
 * What the truth says of a message to someone whose hidden traits are unknown: its
 * probabilities averaged over those traits' distribution (fatigue sensitivity on a 41-point
 * grid; the opt-out base enters linearly, so at its mean), with everything else as the user's
 * events show it given enough of them: the hour-of-day habit, interest per category (what they
 * view and buy), the messages sent. Ranking by P(outcome | what is known) is the best ranking
 * there is of what is known (Neyman–Pearson), so the AUC of these probabilities bounds the AUC
 * of any model of the logged features; a model also has to estimate the habit and interests
 * from a finite history, and sees the hidden traits only through a few past clicks.
 */
export function visibleProbabilities(u: SimUser, m: Message, history: readonly number[]): TrueProbabilities {
  const sum: TrueProbabilities = { click: 0, convert: 0, unsubscribe: 0 };
  const [lo, hi] = FATIGUE_RANGE;
  for (let i = 0; i < FATIGUE_GRID; i++) {
    const fatigue = lo + ((hi - lo) * (i + 0.5)) / FATIGUE_GRID;
    const p = trueProbabilities({ ...u, traits: { ...u.traits, fatigue, unsubscribe: MEAN_UNSUBSCRIBE } }, m, history);
    sum.click += p.click / FATIGUE_GRID;
    sum.convert += p.convert / FATIGUE_GRID;
    sum.unsubscribe += p.unsubscribe / FATIGUE_GRID;
  }
  return sum;
}

export interface DrawnOutcomes {
  p: TrueProbabilities;
  /** The same, averaged over the unobservable traits (visibleProbabilities). */
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
  const pVisible = visibleProbabilities(u, m, history);
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
