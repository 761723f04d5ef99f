import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/load.js';
import { ConfigError } from '../errors/index.js';
import { VirtualClock } from '../processor/clock.js';
import { EmbeddedLog, type AppendRecord } from '../processor/embedded/log.js';
import { createLogger } from '../processor/logger.js';
import { createReplica } from '../processor/create-replica.js';
import type { Replica } from '../processor/replica.js';
import { topologyFor } from '../operators/topologies.js';
import type { DecisionRecord } from '../operators/decisions/decision-record.js';
import type { SendRecord } from '../operators/sinks/dispatcher.js';
import { localTime } from '../operators/decisions/local-time.js';
import { DEFAULT_WORLD, profileRecord, simUser } from '../bench/sim/population.js';
import { userEvents } from '../bench/sim/activity.js';
import { mixSeed, mulberry32 } from '../bench/sim/random.js';
import { demoCampaigns } from './demo-campaigns.js';
import { baselines, evaluate, type CandidateOffer } from '../bench/sim/quality.js';
import type { Message } from '../bench/sim/response.js';
import { isAllowed } from '../operators/decisions/hours.js';
import { countryRules } from '../config/country-rules.js';
import type { CampaignInput } from '../processor/messages/index.js';

export interface DemoArgs {
  users: number;
  partitions: number;
  seed: number;
  hours: number;
  historyDays: number;
}

const HOUR = 3_600_000;
const PRODUCTS = ['running shoes', 'a kurta', 'headphones', 'a smartwatch', 'a saree', 'a backpack'];

/**
 * The whole system end to end on the embedded default: a simulated population with
 * habits, consent and devices; an OTP, a two-hour flash sale and a cart reminder; the
 * decision pipeline with durable scheduled sends, on a virtual clock that runs a 12-hour
 * day in seconds. No Kafka, no credentials, nothing leaves the machine.
 */
export async function demoCommand(args: DemoArgs): Promise<number> {
  for (const [key, value, min] of [['--users', args.users, 10], ['--partitions', args.partitions, 1], ['--hours', args.hours, 1]] as const) {
    if (!Number.isInteger(value) || value < min) throw new ConfigError(key, `got ${value}`, `an integer ≥ ${min}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'nudge-demo-'));
  const logger = createLogger('warn');
  const t0 = performance.now();
  try {
    // Monday 2026-11-23, 09:00 in India.
    const start = Date.UTC(2026, 10, 23, 3, 30);
    const clock = new VirtualClock(start);
    const config = validateConfig({ state: { dir: join(dir, 'state') }, embedded: { partitions: args.partitions }, http: { port: 0 }, processor: { timerIntervalMs: 60_000 } });
    const log = new EmbeddedLog(join(dir, 'log'), { now: () => clock.now() });
    const { replica } = createReplica({ config, topology: topologyFor(config), logger, clock, embeddedLog: log });
    const topics = replica.topics;
    for (const t of [...topics.inputs, ...topics.outputs]) log.createTopic(t, args.partitions);
    log.createTopic(topics.campaigns, 1);

    console.log(`nudge demo: ${args.users.toLocaleString('en')} simulated users (seed ${args.seed}), ${args.partitions} partitions, embedded log, LMDB state, virtual clock`);
    const world = { ...DEFAULT_WORLD, seed: args.seed };
    const profiles: AppendRecord[] = [];
    const events: AppendRecord[] = [];
    for (let i = 0; i < args.users; i++) {
      const u = simUser(world, i);
      profiles.push(json(u.userId, profileRecord(u)));
      for (const e of userEvents(u, start - args.historyDays * 24 * HOUR, start, args.seed)) events.push(json(u.userId, e));
    }
    log.append(topics.input('profiles'), profiles);
    for (let i = 0; i < events.length; i += 50_000) log.append(topics.input('events'), events.slice(i, i + 50_000));
    await replica.start();
    await drained(replica, log);
    const loaded = performance.now();
    console.log(`loaded ${profiles.length.toLocaleString('en')} profiles and ${events.length.toLocaleString('en')} past events in ${((loaded - t0) / 1000).toFixed(1)} s`);

    const campaigns = demoCampaigns(start, args.users);
    log.append(topics.campaigns, campaigns.map((c) => json(c.campaignId, c, c.campaignId)));
    const rng = mulberry32(mixSeed(args.seed, 7));
    const candidates: AppendRecord[] = [];
    const audience: Record<string, number> = { 'otp-login': 0.02, 'flash-sale': 0.6, 'cart-reminder': 0.25 };
    for (let i = 0; i < args.users; i++) {
      for (const c of campaigns) {
        if (rng() >= (audience[c.campaignId] ?? 0)) continue;
        const vars = c.campaignId === 'otp-login' ? { otp: String(100000 + Math.floor(rng() * 900000)) } : { product: PRODUCTS[i % PRODUCTS.length] as string };
        candidates.push(json(`u${i}`, { campaignId: c.campaignId, userId: `u${i}`, vars }));
      }
    }
    log.append(topics.input('candidates'), candidates);
    await drained(replica, log);
    const decided = performance.now();
    console.log(`decided ${candidates.length.toLocaleString('en')} candidates in ${((decided - loaded) / 1000).toFixed(1)} s (${Math.round(candidates.length / ((decided - loaded) / 1000)).toLocaleString('en')}/s)`);

    // Run the day: the virtual clock moves in 5-minute steps and scheduled sends fire as they fall due.
    for (let t = start; t <= start + args.hours * HOUR; t += 5 * 60_000) {
      clock.set(t);
      await replica.fireTimers();
    }
    await replica.stop();

    const decisions = readAll<DecisionRecord>(log, topics.output('decisions'), args.partitions);
    const sends = readAll<SendRecord>(log, topics.output('sends'), args.partitions);
    await log.close();
    report(decisions, sends, candidates.length, world, start);
    quality(sends, candidates, campaigns, world, args.seed);
    console.log(`\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function json(key: string, value: unknown, _id?: string): AppendRecord {
  return { key, value: JSON.stringify(value), headers: { 'content-type': 'application/json' } };
}

async function drained(replica: Replica, log: EmbeddedLog): Promise<void> {
  for (;;) {
    let behind = false;
    for (const topic of replica.topics.inputs) {
      for (const [p, task] of replica.tasks) if ((task.position(topic) ?? 0) < log.end(topic, p)) behind = true;
    }
    if (!behind) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function readAll<T>(log: EmbeddedLog, topic: string, partitions: number): T[] {
  const out: T[] = [];
  for (let p = 0; p < partitions; p++) {
    for (let from = 0; from < log.end(topic, p); from += 10_000) {
      for (const r of log.read(topic, p, from, 10_000)) out.push(JSON.parse((r.value as Buffer).toString('utf8')) as T);
    }
  }
  return out;
}

function report(decisions: DecisionRecord[], sends: SendRecord[], candidates: number, world: typeof DEFAULT_WORLD, start: number): void {
  // The first record of each decisionId is the decision; later ones are changes (preempted, cancelled).
  const first = new Map<string, DecisionRecord>();
  const changes: DecisionRecord[] = [];
  for (const d of decisions) {
    if (first.has(d.decisionId)) changes.push(d);
    else first.set(d.decisionId, d);
  }
  console.log(`\ndecisions: ${first.size.toLocaleString('en')} for ${candidates.toLocaleString('en')} candidates, ${changes.length} later changes`);
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
    console.log(`  ${campaign.padEnd(14)} ${['send', 'schedule', 'holdout', 'skip'].map((a) => `${a} ${(m.get(a) ?? 0).toLocaleString('en')}`).join('  ')}`);
  }
  console.log('skip reasons:', [...reasons].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ${n.toLocaleString('en')}`).join(', '));
  const byChannel = new Map<string, { n: number; segments: number; cost: number }>();
  for (const s of sends) {
    const c = byChannel.get(s.channel) ?? { n: 0, segments: 0, cost: 0 };
    c.n++;
    c.segments += s.segments;
    c.cost += s.cost;
    byChannel.set(s.channel, c);
  }
  console.log(`sends: ${sends.length.toLocaleString('en')} — ${[...byChannel].map(([ch, c]) => `${ch} ${c.n.toLocaleString('en')}${ch === 'sms' ? ` (${c.segments.toLocaleString('en')} segments, cost ${c.cost.toFixed(2)})` : ''}`).join(', ')}`);
  // When did messages go out, in each user's own local time? Against their habitual hours.
  const hours = new Array<number>(24).fill(0);
  const users = new Map<string, ReturnType<typeof simUser>>();
  let atHabit = 0;
  for (const s of sends) {
    const u = users.get(s.userId) ?? simUser(world, Number(s.userId.slice(1)));
    users.set(s.userId, u);
    const h = Math.floor(localTime(s.ts, u.timezone).minuteOfDay / 60);
    hours[h] = (hours[h] ?? 0) + 1;
    if ((u.traits.hourly[h] ?? 0) > 1) atHabit++;
  }
  const max = Math.max(...hours, 1);
  console.log('sends by the user\'s local hour:');
  for (let h = 6; h < 24; h++) console.log(`  ${String(h).padStart(2, '0')}:00 ${'█'.repeat(Math.round(((hours[h] ?? 0) / max) * 40))} ${hours[h] ?? 0}`);
  console.log(`${((atHabit / Math.max(1, sends.length)) * 100).toFixed(0)}% of messages landed in an hour when the user is more active than their average`);
  void start;
}

/**
 * How good were the decisions? Expected clicks, conversions and opt-outs per 1,000 promotional
 * messages under the simulator's ground truth, for nudge and for simpler policies on the same
 * candidates, and for an oracle that knows the true probabilities.
 */
function quality(sends: SendRecord[], candidates: AppendRecord[], campaigns: CampaignInput[], world: typeof DEFAULT_WORLD, seed: number): void {
  const users = new Map<string, ReturnType<typeof simUser>>();
  const userOf = (id: string) => {
    let u = users.get(id);
    if (u === undefined) users.set(id, (u = simUser(world, Number(id.slice(1)))));
    return u;
  };
  const promo = new Map(campaigns.filter((c) => c.kind === 'promotional' || c.kind === 'reminder').map((c) => [c.campaignId, c]));
  const nudge: Message[] = sends
    .filter((s) => s.status === 'sent' && promo.has(s.campaignId))
    .map((s) => ({ userId: s.userId, channel: s.channel, at: s.ts, category: promo.get(s.campaignId)?.category ?? 5 }));
  const rules = countryRules({ countries: {} });
  const offers: CandidateOffer[] = [];
  for (const r of candidates) {
    const c = JSON.parse(String(r.value)) as { campaignId: string; userId: string };
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
  // The population's most active local hour, placed in each offer's window.
  const hourly = new Array<number>(24).fill(0);
  for (let i = 0; i < 2000; i++) simUser(world, i).traits.hourly.forEach((v, h) => (hourly[h] = (hourly[h] ?? 0) + v));
  const bestHour = hourly.indexOf(Math.max(...hourly));
  const populationBest = (o: CandidateOffer) => {
    const u = userOf(o.userId);
    for (let t = Math.ceil(o.windowStart / 900_000) * 900_000; t < o.windowEnd; t += 900_000) if (Math.floor(localTime(t, u.timezone).minuteOfDay / 60) === bestHour) return t;
    return undefined;
  };
  const rng = mulberry32(mixSeed(seed, 99));
  const cost = (m: Message) => (m.channel === 'sms' ? 0.12 : 0.0001);
  const rows = [evaluate('nudge', nudge, userOf, cost), ...Object.entries(baselines(offers, userOf, rng, populationBest)).map(([name, msgs]) => evaluate(name, msgs, userOf, cost))];
  console.log('\ndecision quality on the simulator (expected, under its ground truth; promotional messages):');
  console.log(`  ${'policy'.padEnd(22)} ${'sends'.padStart(7)} ${'clicks/1k'.padStart(10)} ${'conv/1k'.padStart(8)} ${'opt-outs/1k'.padStart(12)} ${'cost/conv'.padStart(10)}`);
  for (const q of rows) {
    console.log(`  ${q.policy.padEnd(22)} ${String(q.sends).padStart(7)} ${q.clicksPer1000.toFixed(1).padStart(10)} ${q.conversionsPer1000.toFixed(2).padStart(8)} ${q.optOutsPer1000.toFixed(2).padStart(12)} ${q.costPerConversion.toFixed(2).padStart(10)}`);
  }
}
