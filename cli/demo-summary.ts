import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import { localTime } from '../operators/decisions/local-time.js';
import { isAllowed } from '../operators/decisions/hours.js';
import { countryRules } from '../config/country-rules.js';
import { simUser } from '../bench/sim/population.js';
import { mixSeed, mulberry32 } from '../bench/sim/random.js';
import { addTallies, baselines, evaluate, OWN_BEST_HOUR, rates, tally, type BaselineInputs, type CandidateOffer, type Quality, type Tally } from '../bench/sim/quality.js';
import type { Message } from '../bench/sim/response.js';
import type { DemoRun } from './demo-run.js';

export interface SendHours {
  /** Messages sent by the recipient's local hour, 0–23. */
  sends: number[];
  /** The messaged users' true activity by local hour (traits.hourly, mean 1), averaged over the messages. */
  activity: number[];
  /** Share of messages that landed in an hour when the user is more active than their average. */
  atHabit: number;
}

/**
 * What judging a run reads: its sends, candidates and campaigns, and the simulated users. A
 * replica judges its own users with the same functions (demo-shard.ts), on its share of these.
 */
export type JudgeInput = Pick<DemoRun, 'args' | 'world' | 'campaigns' | 'candidates' | 'sends' | 'userOf' | 'historyByHour'>;

/** The sums behind SendHours: those of disjoint sets of users add up. */
export interface SendHourTally {
  sends: number[];
  /** Sums of traits.hourly over the messages. */
  activity: number[];
  atHabit: number;
  messages: number;
}

/** A run's judgement as sums, to be merged across replicas: per policy in table order, and the send hours. */
export interface Judgement {
  quality: Array<{ policy: string; tally: Tally }>;
  hours: SendHourTally;
}

/** When messages landed in each user's local day, against when those users are truly active. */
export function sendHours(run: JudgeInput): SendHours {
  return sendHoursOf([sendHourTally(run)]);
}

export function sendHourTally(run: JudgeInput): SendHourTally {
  const sends = new Array<number>(24).fill(0);
  const activity = new Array<number>(24).fill(0);
  let atHabit = 0;
  let messages = 0;
  for (const s of run.sends) {
    if (s.status !== 'sent') continue;
    const u = run.userOf(s.userId);
    const h = Math.floor(localTime(s.ts, u.timezone).minuteOfDay / 60);
    sends[h] = (sends[h] ?? 0) + 1;
    u.traits.hourly.forEach((v, i) => (activity[i] = (activity[i] ?? 0) + v));
    if ((u.traits.hourly[h] ?? 0) > 1) atHabit++;
    messages++;
  }
  return { sends, activity, atHabit, messages };
}

export function sendHoursOf(tallies: readonly SendHourTally[]): SendHours {
  const sends = new Array<number>(24).fill(0);
  const activity = new Array<number>(24).fill(0);
  let atHabit = 0;
  let n = 0;
  for (const t of tallies) {
    for (let h = 0; h < 24; h++) {
      sends[h] = (sends[h] as number) + (t.sends[h] ?? 0);
      activity[h] = (activity[h] as number) + (t.activity[h] ?? 0);
    }
    atHabit += t.atHabit;
    n += t.messages;
  }
  return { sends, activity: activity.map((v) => (n === 0 ? 0 : v / n)), atHabit: n === 0 ? 0 : atHabit / n };
}

/**
 * How good were the decisions? Expected clicks, conversions and opt-outs per 1,000 promotional
 * messages under the simulator's ground truth, for nudge and for simpler policies on the same
 * candidates (each messages every reachable, consenting candidate, with no caps; they differ in
 * timing), and for an oracle that knows the true probabilities.
 */
export function qualityRows(run: JudgeInput): Quality[] {
  return qualityOf([judge(run).quality]);
}

/** The run's judgement as sums (the quality table's and the send hours'), for this set of users. */
export function judge(run: JudgeInput): Judgement {
  const { userOf } = run;
  const policies = baselines(demoOffers(run), baselineInputs(run));
  const quality = [{ policy: 'nudge', tally: tally(nudgeMessages(run), userOf, messageCost) }, ...Object.entries(policies).map(([policy, msgs]) => ({ policy, tally: tally(msgs, userOf, messageCost) }))];
  return { quality, hours: sendHourTally(run) };
}

/** The quality table from the judgements of disjoint sets of users, each listing the policies in the same order. */
export function qualityOf(judged: ReadonlyArray<Judgement['quality']>): Quality[] {
  const first = judged[0] ?? [];
  return first.map(({ policy }, i) => rates(policy, addTallies(judged.map((j) => j[i]?.tally ?? addTallies([])))));
}

/** What a message costs in the quality table: the demo routes' prices (Gupshup's SMS segment, FCM's push). */
const messageCost = (m: Message) => (m.channel === 'sms' ? 0.12 : 0.0001);

const promotions = (run: Pick<JudgeInput, 'campaigns'>) => new Map(run.campaigns.filter((c) => c.kind === 'promotional' || c.kind === 'reminder').map((c) => [c.campaignId, c]));

/** nudge's promotional messages that went out, as the ground truth reads them. */
export function nudgeMessages(run: Pick<JudgeInput, 'campaigns' | 'sends'>): Message[] {
  const promo = promotions(run);
  return run.sends
    .filter((s) => s.status === 'sent' && promo.has(s.campaignId))
    .map((s) => ({ userId: s.userId, channel: s.channel, at: s.ts, category: promo.get(s.campaignId)?.category ?? 5 }));
}

/** Every promotional candidate a baseline would message: reachable and consenting on the campaign's first usable channel. */
export function demoOffers(run: Pick<JudgeInput, 'campaigns' | 'candidates' | 'userOf'>): CandidateOffer[] {
  const { userOf } = run;
  const promo = promotions(run);
  const rules = countryRules({ countries: {} });
  const offers: CandidateOffer[] = [];
  for (const c of run.candidates) {
    const campaign = promo.get(c.campaignId);
    if (campaign === undefined) continue;
    const u = userOf(c.userId);
    const kind = campaign.kind;
    const order = campaign.channels.includes('best') ? (['push', 'sms'] as const) : (campaign.channels as Array<'push' | 'sms'>);
    const channel = order.find((ch) => (ch === 'sms' ? u.phone !== null && u.consent.sms.promotional : u.pushToken !== null && u.consent.push.promotional));
    if (channel === undefined) continue;
    const window = campaign.window as { start: number; end: number };
    offers.push({
      userId: u.userId,
      channel,
      category: campaign.category ?? 5,
      windowStart: window.start,
      windowEnd: window.end,
      allowed: (at) => isAllowed(at, channel, kind, u.timezone, rules(u.country), u.quietHours),
    });
  }
  return offers;
}

/** What the baselines know of the world: the population's best hour, each user's past activity, and seeded random draws. */
export function baselineInputs(run: Pick<JudgeInput, 'args' | 'world' | 'userOf' | 'historyByHour'>): BaselineInputs {
  const { userOf } = run;
  // The population's most active local hour, placed in each offer's window.
  const hourly = new Array<number>(24).fill(0);
  for (let i = 0; i < 2000; i++) simUser(run.world, i).traits.hourly.forEach((v, h) => (hourly[h] = (hourly[h] ?? 0) + v));
  const bestHour = hourly.indexOf(Math.max(...hourly));
  const populationBestHour = (o: CandidateOffer) => {
    const u = userOf(o.userId);
    for (let t = Math.ceil(o.windowStart / 900_000) * 900_000; t < o.windowEnd; t += 900_000) if (Math.floor(localTime(t, u.timezone).minuteOfDay / 60) === bestHour) return t;
    return undefined;
  };
  const ownActivity = { byHour: run.historyByHour, hourOf: (userId: string, at: number) => Math.floor(localTime(at, userOf(userId).timezone).minuteOfDay / 60) };
  // One draw per offer from its own seed (the user and the window): the same whichever replica judges it.
  const seed = mixSeed(run.args.seed, 99);
  const rand = (o: CandidateOffer) => mulberry32(mixSeed(seed, Number(o.userId.slice(1)), Math.floor(o.windowStart / 60_000)))();
  return { userOf, rand, populationBestHour, ownActivity };
}

/**
 * nudge against the "user's best hour, no caps" baseline, over all users and split by how many
 * promotions each was offered: one message to time, or two that the minimum gap keeps apart.
 */
export function ownBestSplit(run: DemoRun): Array<{ offered: 'any' | 'one campaign' | 'both'; nudge: Quality; ownBestHour: Quality }> {
  const offers = demoOffers(run);
  const offered = new Map<string, number>();
  for (const o of offers) offered.set(o.userId, (offered.get(o.userId) ?? 0) + 1);
  const nudge = nudgeMessages(run);
  const own = baselines(offers, baselineInputs(run))[OWN_BEST_HOUR] ?? [];
  const groups = [
    ['any', () => true],
    ['one campaign', (m: Message) => offered.get(m.userId) === 1],
    ['both', (m: Message) => (offered.get(m.userId) ?? 0) > 1],
  ] as const;
  return groups.map(([label, keep]) => ({ offered: label, nudge: evaluate('nudge', nudge.filter(keep), run.userOf, messageCost), ownBestHour: evaluate(OWN_BEST_HOUR, own.filter(keep), run.userOf, messageCost) }));
}

/** The text summary `nudge demo` prints. */
export function printSummary(run: DemoRun, hours: SendHours, quality: readonly Quality[], out: (line: string) => void = console.log): void {
  // The first record of each decisionId is the decision; later ones are changes (preempted, cancelled).
  const first = new Map<string, DecisionRecord>();
  const changes: DecisionRecord[] = [];
  for (const d of run.decisions) {
    if (first.has(d.decisionId)) changes.push(d);
    else first.set(d.decisionId, d);
  }
  const n = (x: number) => x.toLocaleString('en');
  out(`\ndecisions: ${n(first.size)} for ${n(run.candidates.length)} candidates, ${n(changes.length)} later changes`);
  const byCampaign = new Map<string, Map<string, number>>();
  const reasons = new Map<string, number>();
  for (const d of first.values()) {
    const m = byCampaign.get(d.campaignId) ?? new Map<string, number>();
    m.set(d.action, (m.get(d.action) ?? 0) + 1);
    byCampaign.set(d.campaignId, m);
    for (const r of d.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  }
  for (const c of changes) for (const r of c.reasons) reasons.set(`${r} (later)`, (reasons.get(`${r} (later)`) ?? 0) + 1);
  for (const [campaign, m] of byCampaign) {
    out(`  ${campaign.padEnd(14)} ${['send', 'schedule', 'holdout', 'skip'].map((a) => `${a} ${n(m.get(a) ?? 0)}`).join('  ')}`);
  }
  out(`skip reasons: ${[...reasons].sort((a, b) => b[1] - a[1]).map(([r, k]) => `${r} ${n(k)}`).join(', ')}`);
  const byChannel = new Map<string, { n: number; segments: number; cost: number; charged: number }>();
  for (const s of run.sends) {
    const c = byChannel.get(s.channel) ?? { n: 0, segments: 0, cost: 0, charged: 0 };
    c.n++;
    c.segments += s.segments;
    c.cost += s.cost;
    c.charged += s.providerCost ?? 0;
    byChannel.set(s.channel, c);
  }
  // The policy prices an SMS at one rate; the router may hand it to a dearer provider (Twilio
  // beside Gupshup in India, on failover or by health), and that is what the bill says.
  const smsCost = (c: { segments: number; cost: number; charged: number }) => `${n(c.segments)} segments, cost ${c.cost.toFixed(2)} as the policy prices it${run.args.providers === 'recorded' ? '' : `, ${c.charged.toFixed(2)} at the prices of the providers that took them`}`;
  if (run.scoring.calls > 0) out(`scoring: ${n(run.scoring.rows)} rows in ${n(run.scoring.calls)} model calls (${run.scoring.seconds.toFixed(1)} s)`);
  out(`sends: ${n(run.sends.length)} — ${[...byChannel].map(([ch, c]) => `${ch} ${n(c.n)}${ch === 'sms' ? ` (${smsCost(c)})` : ''}`).join(', ')}`);
  // What the providers made of them: a send the router gave up on is in nudge.sends too, and
  // counted above, so the failures are told apart, with their codes.
  const byStatus = new Map<string, number>();
  const byError = new Map<string, number>();
  for (const s of run.sends) {
    byStatus.set(s.status, (byStatus.get(s.status) ?? 0) + 1);
    if (s.status !== 'sent' && s.error !== null) byError.set(s.error.code, (byError.get(s.error.code) ?? 0) + 1);
  }
  const statuses = [...byStatus].sort((a, b) => b[1] - a[1]).map(([st, k]) => `${n(k)} ${st}`).join(', ');
  const errors = [...byError].sort((a, b) => b[1] - a[1]).map(([code, k]) => `${code} ${n(k)}`).join(', ');
  out(`outcomes: ${statuses === '' ? 'none' : statuses}${errors !== '' ? ` (${errors})` : ''}`);
  const { fed, pending, counts } = run.feedback;
  out(`answers fed back to nudge.events and nudge.profiles: ${n(fed.click)} clicks, ${n(fed.conversion)} conversions, ${n(fed.opt_out)} opt-outs (STOP or push turned off); after the run ends: ${n(pending.click)} clicks, ${n(pending.conversion)} conversions, ${n(pending.opt_out)} opt-outs; ${n(counts.afterOptOut)} messages to users who had opted out`);
  if (run.deadLetters > 0) out(`dead letters: ${n(run.deadLetters)}`);
  const max = Math.max(...hours.sends, 1);
  out("sends by the user's local hour:");
  for (let h = 6; h < 24; h++) out(`  ${String(h).padStart(2, '0')}:00 ${'█'.repeat(Math.round(((hours.sends[h] ?? 0) / max) * 40))} ${hours.sends[h] ?? 0}`);
  out(`${(hours.atHabit * 100).toFixed(0)}% of messages landed in an hour when the user is more active than their average`);
  out('\ndecision quality on the simulator (expected, under its ground truth; promotional messages):');
  out(`  ${'policy'.padEnd(27)} ${'sends'.padStart(7)} ${'clicks/1k'.padStart(10)} ${'conv/1k'.padStart(8)} ${'opt-outs/1k'.padStart(12)} ${'cost/conv'.padStart(10)}`);
  for (const q of quality) {
    out(`  ${q.policy.padEnd(27)} ${String(q.sends).padStart(7)} ${q.clicksPer1000.toFixed(1).padStart(10)} ${q.conversionsPer1000.toFixed(2).padStart(8)} ${q.optOutsPer1000.toFixed(2).padStart(12)} ${q.costPerConversion.toFixed(2).padStart(10)}`);
  }
  out('  (the policies between nudge and the oracle message every reachable, consenting candidate once, with no caps; they differ in timing)');
}
