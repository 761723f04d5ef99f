/**
 * A decision log with a known truth, made by the real pipeline on the behavioural simulator.
 *
 * The simulated population (bench/sim) lives through `historyDays` of app activity, then
 * `days` days with `campaignsPerDay` promotional campaigns each, offered to part of the users. The decision
 * topology runs on real LMDB stores with a virtual clock (sim-harness.ts), so every logged
 * feature vector comes from the one feature function the service uses (DESIGN invariant 8).
 * When a scheduled send fires, the user's answer is drawn from the simulator's ground truth
 * and fed back as events at the time it happens (clicks update CTR features, STOPs withdraw
 * consent), and the true probabilities are kept per decision.
 *
 * The logging policy explores: each day `explore` of the users, drawn by the experiment
 * hash, get the 'blast' arm (first allowed instant, no model), and the decision records carry
 * that arm's probability, for off-policy evaluation. Optionally the last campaign day is also
 * decided under other arms from the very same state (a copy of the stores), which gives the
 * true value of a candidate policy to check off-policy estimates against.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userEvents } from '../bench/sim/activity.js';
import { DEFAULT_WORLD, profileRecord, simUser, type SimUser, type WorldConfig } from '../bench/sim/population.js';
import { mixSeed, mulberry32 } from '../bench/sim/random.js';
import type { Message } from '../bench/sim/response.js';
import { validateConfig } from '../config/load.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import { HeuristicScorer } from '../operators/decisions/heuristic-scorer.js';
import type { Scorer } from '../operators/decisions/scorer.js';
import { decisionTopology } from '../operators/decisions/topology.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import { RecordingSink } from '../operators/sinks/recording-sink.js';
import type { Campaign } from '../processor/messages/index.js';
import type { OutcomeEvent } from './labels.js';
import { DECIDE_OFFSET_MS, simCampaign } from './sim-campaign.js';
import { SimHarness } from './sim-harness.js';
import { drawOutcomes, trueProbabilities, visibleProbabilities, type TrueProbabilities } from './sim-outcomes.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// Events are fed in 5-minute steps: finer than any label window or feature time constant,
// coarse enough that stepping a month costs little.
const STEP_MS = 5 * MINUTE;
/** First campaign day by default: Monday 2026-11-02, 00:00 UTC. */
export const SIM_START = Date.UTC(2026, 10, 2);

export interface SimDatasetOptions {
  users: number;
  seed: number;
  /** Days with a campaign. */
  days: number;
  /** Days of activity before the first campaign, so users have history. Default 14. */
  historyDays?: number;
  /** Days simulated after the last campaign for outcomes to arrive. Default 3. */
  tailDays?: number;
  /** Share of users offered each campaign. Default 0.8. */
  audience?: number;
  /** Campaigns decided each day (the frequency caps allow 3 promotional messages a local day). Default 2. */
  campaignsPerDay?: number;
  /** Share of decisions in the exploring 'blast' arm. Default 0.2. */
  explore?: number;
  /** The scorer of the 'model' arm. Default: heuristic-2, the scorer of the shipped model's training world. */
  scorer?: Scorer;
  partitions?: number;
  /** Also decide the last campaign day's candidates under these arms, from the same state. */
  counterfactualArms?: Record<string, number>;
  start?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/** A message that went out, with its true probabilities and the outcomes drawn for it. */
export interface SimSend {
  decisionId: string;
  message: Message;
  campaignId: string;
  p: TrueProbabilities;
  /** The true probabilities averaged over the unobservable traits (visibleProbabilities, sim-outcomes.ts). */
  pVisible: TrueProbabilities;
  y: TrueProbabilities;
}

export interface Counterfactual {
  arms: Record<string, number>;
  /** Candidates decided (the denominator of a policy's value per candidate). */
  candidates: number;
  decisions: DecisionRecord[];
  /** The messages the candidate policy would have sent, with their true probabilities. */
  sends: SimSend[];
}

export interface SimDataset {
  world: WorldConfig;
  /** First campaign day, 00:00 UTC; campaign d is decided at start + d·DAY + DECIDE_OFFSET_MS. */
  start: number;
  /** Decision instant of each campaign day (all of a day's campaigns are decided then). */
  decideAt: number[];
  /** End of the simulation (events after it have not happened). */
  end: number;
  campaigns: Campaign[];
  decisions: DecisionRecord[];
  /** Outcome events only (clicks, attributed purchases, STOPs, uninstalls): what labels are read from. */
  events: OutcomeEvent[];
  sends: SimSend[];
  /** By decisionId, for the messages that went out. */
  truth: Map<string, SimSend>;
  counterfactual?: Counterfactual;
  stats: { activityEvents: number; candidates: number; decisions: number; sends: number; seconds: number };
  userOf: (userId: string) => SimUser;
}

/** Min-first bucket queue of events by STEP_MS step. */
class StepQueue<T extends { ts: number }> {
  readonly #steps = new Map<number, T[]>();
  push(e: T): void {
    const k = Math.floor(e.ts / STEP_MS);
    const list = this.#steps.get(k);
    if (list === undefined) this.#steps.set(k, [e]);
    else list.push(e);
  }
  take(step: number): T[] {
    const list = this.#steps.get(step);
    if (list === undefined) return [];
    this.#steps.delete(step);
    return list.sort((a, b) => a.ts - b.ts);
  }
}

type PipedEvent = { userId: string; ts: number } & Record<string, unknown>;

export async function simulateDataset(o: SimDatasetOptions): Promise<SimDataset> {
  const t0 = performance.now();
  const log = o.log ?? (() => undefined);
  const world: WorldConfig = { ...DEFAULT_WORLD, seed: o.seed };
  const start = o.start ?? SIM_START;
  const historyDays = o.historyDays ?? 14;
  const tailDays = o.tailDays ?? 3;
  const audience = o.audience ?? 0.8;
  const perDay = o.campaignsPerDay ?? 2;
  const explore = o.explore ?? 0.2;
  // heuristic-2 decided the world the shipped model was trained on: `train:default` and the
  // tests built on this dataset stay reproducible when the serving heuristics change.
  const scorer = o.scorer ?? new HeuristicScorer({ version: 2 });
  const partitions = o.partitions ?? 1;
  const users = Array.from({ length: o.users }, (_, i) => simUser(world, i));
  const userOf = (id: string): SimUser => users[Number(id.slice(1))] as SimUser;
  // No global control group: the experiment's arms are the randomisation this log needs.
  const config = validateConfig({ policy: { controlGroupPercent: 0 } });
  const dir = mkdtempSync(join(tmpdir(), 'nudge-sim-'));
  const open = (at: number, d: string) =>
    SimHarness.create({ topology: () => decisionTopology(config, scorer), effects: (clock) => [new RecordingSink(clock)], partitions, startTime: at, config, dir: d });

  const from = start - historyDays * DAY;
  const end = start + (o.days + tailDays) * DAY;
  let driver = await open(from, join(dir, 'live'));
  const rng = mulberry32(mixSeed(o.seed, 0x0c7c0));
  // Audiences from their own stream: two runs with different scorers draw different outcomes,
  // and must still be offered the same candidates to be comparable.
  const audienceRng = mulberry32(mixSeed(o.seed, 0xa0d1e));
  const queue = new StepQueue<PipedEvent>();
  const history = new Map<string, number[]>();
  const decisions: DecisionRecord[] = [];
  const events: OutcomeEvent[] = [];
  const sends: SimSend[] = [];
  const truth = new Map<string, SimSend>();
  const campaigns: Campaign[] = [];
  const decideAt: number[] = [];
  const categoryOf = new Map<string, number>();
  let activityEvents = 0;
  let candidates = 0;
  let counterfactual: Counterfactual | undefined;

  try {
    await driver.pipe('profiles', users.map((u) => ({ key: u.userId, value: profileRecord(u) })));
    const collect = (): void => {
      for (const d of driver.take<DecisionRecord>('decisions')) decisions.push(d);
      for (const s of driver.take<SendRecord>('sends')) {
        if (s.status !== 'sent') continue;
        const u = userOf(s.userId);
        const m: Message = { userId: s.userId, channel: s.channel, at: s.ts, category: categoryOf.get(s.campaignId) ?? 5 };
        const past = history.get(s.userId) ?? [];
        const drawn = drawOutcomes(rng, u, m, s.campaignId, past);
        past.push(s.ts);
        history.set(s.userId, past);
        const send: SimSend = { decisionId: s.decisionId, message: m, campaignId: s.campaignId, p: drawn.p, pVisible: drawn.pVisible, y: drawn.y };
        sends.push(send);
        truth.set(s.decisionId, send);
        for (const e of drawn.events) {
          events.push(e);
          queue.push(e as unknown as PipedEvent);
        }
      }
    };

    for (let day = -historyDays; day < o.days + tailDays; day++) {
      const dayStart = start + day * DAY;
      for (const u of users) {
        for (const e of userEvents(u, dayStart, dayStart + DAY, o.seed)) {
          queue.push(e as unknown as PipedEvent);
          activityEvents++;
        }
      }
      const decideTime = day >= 0 && day < o.days ? dayStart + DECIDE_OFFSET_MS : -1;
      for (let step = Math.floor(dayStart / STEP_MS); step < Math.floor((dayStart + DAY) / STEP_MS); step++) {
        // Events of a step are fed at its end: the operator never sees an event from its future.
        const at = (step + 1) * STEP_MS;
        await driver.advanceTo(at);
        collect();
        await driver.pipe('events', queue.take(step).map((e) => ({ key: e.userId, value: e })));
        if (at !== decideTime) continue;
        const offers = Array.from({ length: perDay }, (_, j) => ({ campaign: simCampaign(day, j, perDay, dayStart, explore), users: users.filter(() => audienceRng() < audience) }));
        decideAt.push(at);
        for (const { campaign, users: offered } of offers) {
          campaigns.push(campaign);
          categoryOf.set(campaign.campaignId, campaign.category ?? 5);
          candidates += offered.length;
        }
        if (day === o.days - 1 && o.counterfactualArms !== undefined) {
          // Same state, same candidates, other arms: copy the stores before the real run decides.
          await driver.close();
          cpSync(join(dir, 'live'), join(dir, 'counterfactual'), { recursive: true });
          const alt = offers.map((x, j) => ({ campaign: simCampaign(day, j, perDay, dayStart, explore, o.counterfactualArms), users: x.users }));
          counterfactual = await decideCounterfactual(await open(at, join(dir, 'counterfactual')), campaigns, alt, o.counterfactualArms, history, userOf);
          driver = await open(at, join(dir, 'live'));
        }
        for (const c of campaigns) driver.putCampaign(c);
        for (const { campaign, users: offered } of offers) {
          await driver.pipe('candidates', offered.map((u) => ({ key: u.userId, value: { campaignId: campaign.campaignId, userId: u.userId, vars: {} } })));
        }
        collect();
        const offered = offers.reduce((n, x) => n + x.users.length, 0);
        log('campaign decided', { day, candidates: offered, decisions: decisions.length, sends: sends.length });
      }
    }
    await driver.advanceTo(end);
    collect();
  } finally {
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    world,
    start,
    decideAt,
    end,
    campaigns,
    decisions,
    events: events.filter((e) => e.ts <= end).sort((a, b) => a.ts - b.ts),
    sends,
    truth,
    ...(counterfactual !== undefined ? { counterfactual } : {}),
    stats: { activityEvents, candidates, decisions: decisions.length, sends: sends.length, seconds: (performance.now() - t0) / 1000 },
    userOf,
  };
}

/**
 * The last campaign day decided under the candidate policy's arms on a copy of the stores.
 * Only decisions are needed: a send/schedule decision that still stands after the day's
 * campaigns are decided is a message at its sendAt, whose true probabilities come from the
 * user's real send history up to then. Checks made when a send fires (a cap reached since,
 * a STOP) are not replayed: in the logged run they drop about 2% of the model arm's sends.
 */
async function decideCounterfactual(
  driver: SimHarness,
  earlier: readonly Campaign[],
  offers: ReadonlyArray<{ campaign: Campaign; users: readonly SimUser[] }>,
  arms: Record<string, number>,
  history: ReadonlyMap<string, readonly number[]>,
  userOf: (id: string) => SimUser,
): Promise<Counterfactual> {
  try {
    for (const c of earlier) driver.putCampaign(c);
    const categoryOf = new Map<string, number>();
    for (const { campaign, users } of offers) {
      driver.putCampaign(campaign);
      categoryOf.set(campaign.campaignId, campaign.category ?? 5);
      await driver.pipe('candidates', users.map((u) => ({ key: u.userId, value: { campaignId: campaign.campaignId, userId: u.userId, vars: {} } })));
    }
    const decisions = driver.take<DecisionRecord>('decisions');
    // A user's earlier message of the day wears them out for the next (response.ts), as in the real run.
    const planned = new Map<string, number[]>();
    const sends: SimSend[] = [];
    // A decision's last record is what stands: a message scheduled by one campaign and then
    // preempted by a later one in the same batch of campaigns never goes out, as in the real run.
    const standing = new Map<string, DecisionRecord>();
    for (const d of decisions) standing.set(d.decisionId, d);
    const ordered = [...standing.values()].filter((d) => (d.action === 'send' || d.action === 'schedule') && d.channel !== null && d.supersedes === undefined);
    const atOf = (d: DecisionRecord) => (d.action === 'schedule' && d.sendAt !== null ? d.sendAt : d.ts);
    ordered.sort((a, b) => atOf(a) - atOf(b));
    for (const d of ordered) {
      const m: Message = { userId: d.userId, channel: d.channel as Message['channel'], at: atOf(d), category: categoryOf.get(d.campaignId) ?? 5 };
      const past = [...(history.get(d.userId) ?? []), ...(planned.get(d.userId) ?? [])];
      const p = trueProbabilities(userOf(d.userId), m, past);
      const pVisible = visibleProbabilities(userOf(d.userId), m, past);
      planned.set(d.userId, [...(planned.get(d.userId) ?? []), m.at]);
      sends.push({ decisionId: d.decisionId, message: m, campaignId: d.campaignId, p, pVisible, y: { click: 0, convert: 0, unsubscribe: 0 } });
    }
    return { arms, candidates: offers.reduce((n, x) => n + x.users.length, 0), decisions, sends };
  } finally {
    await driver.close();
  }
}
