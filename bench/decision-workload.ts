/**
 * The decision topology's bench workload, shared by the decisions, ingest and campaign
 * scenarios: a virtual clock, generated profiles, activity events and campaigns, and the
 * read-backs that prove a run did its work (state on disk, the decisions written).
 */
import type { NudgeConfig } from '../config/schema.js';
import { DECISION_STORES } from '../operators/decisions/stores.js';
import type { Clock } from '../processor/clock.js';
import type { AppendRecord, EmbeddedLog } from '../processor/embedded/log.js';
import type { TopicNames } from '../processor/topic-names.js';
import { LmdbStore } from '../state/lmdb-store.js';
import { partitionDir } from '../state/open-store.js';
import { EVENT_TYPES, generateEvents, userId, type BenchEvents } from './events.js';
import { activityScaleFor, TARGET_EVENTS_PER_USER_DAY, userEvents } from './sim/activity.js';
import { DEFAULT_WORLD, profileRecord, simUser } from './sim/population.js';

/**
 * Monday 2026-11-23 10:00 IST (04:30 UTC): the bench's virtual "now" at its start. Decisions
 * depend on the users' local time (legal and quiet hours, best slot), so a fixed instant
 * makes the mix of actions the same whenever and wherever the bench runs.
 */
export const BENCH_START = Date.UTC(2026, 10, 23, 4, 30);
export const DAY = 86_400_000;
export const HOUR = 3_600_000;

/** Records per log append: one LMDB transaction each. */
const FILL_CHUNK = 10_000;

/**
 * Virtual time that starts at BENCH_START and moves with real time: timers and decayed
 * features see time pass normally, but the day and hour are fixed.
 */
export class BenchClock implements Clock {
  readonly #origin = performance.now();
  now(): number {
    return Math.floor(BENCH_START + performance.now() - this.#origin);
  }
}

export interface StateOnDisk {
  /** Sum of the partitions' data.mdb sizes. */
  fileBytes: number;
  /** Live LMDB pages. */
  usedBytes: number;
  users: number;
  /** Sum of the users' encoded UserState values. */
  userValueBytes: number;
  ledgerEntries: number;
  timers: number;
}

export interface DecisionMix {
  decisions: number;
  distinctDecisionIds: number;
  actions: Record<string, number>;
  /** Every reason named by a skip (a skip may name several). */
  skipReasons: Record<string, number>;
  /** Channel of send / schedule / holdout decisions. */
  channels: Record<string, number>;
  sends: number;
  deadLetters: number;
}

/** Appends `count` generated records in chunks; returns the time it took (outside every measured window). */
export function fill(elog: EmbeddedLog, topic: string, count: number, make: (i: number) => AppendRecord): number {
  const f0 = performance.now();
  for (let from = 0; from < count; from += FILL_CHUNK) {
    const chunk: AppendRecord[] = [];
    for (let i = from; i < Math.min(count, from + FILL_CHUNK); i++) chunk.push(make(i));
    elog.append(topic, chunk);
  }
  return performance.now() - f0;
}

/** Sizes and a scan of the stores, with no replica running: opened as the replica opens them. */
export async function stateOnDisk(config: NudgeConfig, partitions: number): Promise<StateOnDisk> {
  const out: StateOnDisk = { fileBytes: 0, usedBytes: 0, users: 0, userValueBytes: 0, ledgerEntries: 0, timers: 0 };
  for (let p = 0; p < partitions; p++) {
    const store = LmdbStore.open(partitionDir(config.state, p), { mapSizeMb: config.state.mapSizeMb });
    try {
      out.fileBytes += await store.sizeOnDisk();
      out.usedBytes += store.usedBytes();
      for await (const [, value] of store.range(namespaceRange(DECISION_STORES.users.namespace))) {
        out.users++;
        out.userValueBytes += value.byteLength;
      }
      for await (const _ of store.range(namespaceRange(DECISION_STORES.ledger.namespace))) out.ledgerEntries++;
      // Timers by id (processor/timers.ts, namespace 0x02): scheduled sends waiting to fire.
      for await (const _ of store.range(namespaceRange(0x02))) out.timers++;
    } finally {
      await store.close();
    }
  }
  return out;
}

function namespaceRange(ns: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: Uint8Array.of(ns), lt: Uint8Array.of(ns + 1) };
}

interface DecisionRow {
  decisionId: string;
  action: string;
  reasons: string[];
  channel: string | null;
}

/** Reads every decision back from the log: the evidence that the run decided, and what. */
export function decisionMix(elog: EmbeddedLog, topics: TopicNames, partitions: number): DecisionMix {
  const mix: DecisionMix = { decisions: 0, distinctDecisionIds: 0, actions: {}, skipReasons: {}, channels: {}, sends: 0, deadLetters: 0 };
  const ids = new Set<string>();
  const topic = topics.output('decisions');
  for (let p = 0; p < partitions; p++) {
    for (let from = 0; ; ) {
      const records = elog.read(topic, p, from, 10_000);
      if (records.length === 0) break;
      for (const r of records) {
        const d = JSON.parse((r.value as Buffer).toString('utf8')) as DecisionRow;
        mix.decisions++;
        ids.add(d.decisionId);
        mix.actions[d.action] = (mix.actions[d.action] ?? 0) + 1;
        if (d.action === 'skip') for (const reason of d.reasons) mix.skipReasons[reason] = (mix.skipReasons[reason] ?? 0) + 1;
        else if (d.channel !== null) mix.channels[d.channel] = (mix.channels[d.channel] ?? 0) + 1;
      }
      from = (records[records.length - 1]?.offset ?? from) + 1;
    }
    mix.sends += elog.end(topics.output('sends'), p);
    mix.deadLetters += elog.end(topics.output('deadletter'), p);
  }
  mix.distinctDecisionIds = ids.size;
  return mix;
}

/** A dead letter means generated input the product rejects: the phase did less work than it claims. */
export function assertNoDeadLetters(elog: EmbeddedLog, topics: TopicNames, partitions: number, phase: string): void {
  const topic = topics.output('deadletter');
  for (let p = 0; p < partitions; p++) {
    const [first] = elog.read(topic, p, 0, 1);
    if (first !== undefined) {
      const total = Array.from({ length: partitions }, (_, q) => elog.end(topic, q)).reduce((a, b) => a + b, 0);
      throw new Error(`${phase}: ${total} records dead-lettered, e.g. ${(first.value as Buffer).toString('utf8').slice(0, 400)}`);
    }
  }
}


export const NAMES = ['Asha', 'Ravi', 'Priya', 'Arjun', 'Meera', 'Vikram', 'Anjali', 'Rahul', 'Kavya', 'Sanjay', 'Divya', 'Imran', 'Neha', 'Karthik', 'Fatima', 'Rohan'];
export const PRODUCTS = ['running shoes', 'headphones', 'kurta', 'smartwatch', 'saree', 'backpack'];

function chance(rand: () => number, p: number): boolean {
  return rand() < p;
}

/**
 * A profile shaped like test/support/decisions.ts's indiaUser, varied: mostly India with
 * some other countries, partial consent, NCPR blocks, missing phones and tokens, quiet hours
 * or none, several languages (the campaign has English templates only, so the fallback runs).
 */
export function profileFor(i: number, rand: () => number): Record<string, unknown> {
  const id = userId(i);
  const r = rand();
  const [country, timezone] = r < 0.88 ? ['IN', 'Asia/Kolkata'] : r < 0.94 ? ['US', 'America/New_York'] : r < 0.97 ? ['GB', 'Europe/London'] : ['ID', 'Asia/Jakarta'];
  const lang = rand();
  const language = lang < 0.65 ? 'en' : lang < 0.9 ? 'hi' : 'ta';
  const profile: Record<string, unknown> = {
    userId: id,
    country,
    language,
    consent: {
      sms: { promotional: chance(rand, 0.7), service: chance(rand, 0.9), transactional: chance(rand, 0.97), reminder: chance(rand, 0.8) },
      push: { promotional: chance(rand, 0.75), service: chance(rand, 0.9), transactional: true, reminder: chance(rand, 0.85) },
    },
    value: Math.round(100 + 4900 * rand() ** 2),
    name: NAMES[i % NAMES.length],
  };
  // Some profiles leave the zone to the country rules.
  if (chance(rand, 0.95)) profile['timezone'] = timezone;
  profile['phone'] = chance(rand, 0.93) ? `+${country === 'IN' ? '91' : '1'}${String(9_000_000_000 + Math.floor(rand() * 999_999_999))}` : null;
  if (country === 'IN') {
    const blocked = chance(rand, 0.12);
    profile['ncpr'] = blocked ? { fullyBlocked: true } : { fullyBlocked: false, allowedCategories: chance(rand, 0.6) ? [1, 5] : [2, 3] };
  }
  const tokens = rand();
  profile['pushTokens'] = tokens < 0.3 ? [] : tokens < 0.92 ? [{ platform: chance(rand, 0.8) ? 'fcm' : 'apns', token: `tok-${id}` }] : [{ platform: 'fcm', token: `tok-${id}` }, { platform: 'web', token: `web-${id}` }];
  const quiet = rand();
  profile['quietHours'] = quiet < 0.6 ? { start: '22:00', end: '08:00' } : quiet < 0.8 ? { start: '23:00', end: '07:00' } : null;
  return profile;
}

/** Users with recent activity: a seeded draw, about `share` of them. */
export function activeUsers(users: number, share: number, rand: () => number): number[] {
  const out: number[] = [];
  for (let u = 0; u < users; u++) if (rand() < share) out.push(u);
  return out;
}

const EVENT_CYCLE = ['app_open', 'view', 'app_open', 'view', 'click', 'add_to_cart', 'app_open', 'purchase'] as const;
/** Habitual local hours (IST), as offsets from 00:00 UTC: 08:30, 13:00, 20:00 IST. */
const HABIT_UTC_MS = [3 * HOUR, 7.5 * HOUR, 14.5 * HOUR];

/** The k-th event of an active user: a habit hour on one of the last seven days, like test/support's activate(). */
export function eventFor(u: number, k: number): Record<string, unknown> {
  const day = 1 + (k % 7);
  const habit = HABIT_UTC_MS[u % HABIT_UTC_MS.length] as number;
  const midnight = Math.floor(BENCH_START / DAY) * DAY;
  const ts = midnight - day * DAY + habit + ((u * 7919 + k * 104_729) % (45 * 60_000));
  const type = EVENT_CYCLE[k % EVENT_CYCLE.length] as string;
  return { userId: userId(u), ts, type, ...(type === 'purchase' ? { value: 499 + (u % 5) * 500 } : {}) };
}

/** `count` distinct indices out of `n`, seeded (a partial Fisher–Yates shuffle). */
export function sample(n: number, count: number, rand: () => number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
  return a.subarray(0, count);
}

/** test/support/decisions.ts's campaign(): promotional, category 5, DLT ids and sender present; sms and push, a 12 h window. */
export function benchCampaign(id: string, start: number): Record<string, unknown> {
  return {
    campaignId: id,
    kind: 'promotional',
    category: 5,
    priority: 50,
    channels: ['sms', 'push'],
    window: { start, end: start + 12 * HOUR },
    deadline: 'soft',
    value: 3000,
    templates: {
      en: {
        sms: { body: '{{name}}, 40% off {{product}} till midnight', senderId: 'SHPPLS-P', dltEntityId: '1101000000000', dltTemplateId: '1107000000000' },
        push: { title: 'Flash sale', body: '40% off {{product}}' },
      },
    },
  };
}


/** Keys and JSON values, as a producer writes them to a topic. */
export interface KeyedRecords {
  keys: string[];
  values: string[];
}

/** The `nudge.profiles` records of users 0…n-1 of the simulator's default world (bench/sim/population.ts). */
export function populationProfiles(users: number): KeyedRecords {
  const keys = new Array<string>(users);
  const values = new Array<string>(users);
  for (let i = 0; i < users; i++) {
    const u = simUser(DEFAULT_WORLD, i);
    keys[i] = u.userId;
    values[i] = JSON.stringify(profileRecord(u));
  }
  return { keys, values };
}

/**
 * N activity events over the population's users (uniform, seeded, as bench/events.ts draws
 * them, so the raw LMDB reference can replay the same keys), stamped within the hour before
 * BENCH_START: recent, so the decayed features keep them rather than dropping them on arrival.
 */
export function populationEvents(count: number, userIds: readonly string[], seed: number): BenchEvents {
  const events = generateEvents(count, userIds.length, seed);
  for (let i = 0; i < count; i++) {
    const id = userIds[events.user[i] as number] as string;
    const ts = BENCH_START - HOUR + Math.floor((i * HOUR) / count);
    events.keys[i] = id;
    events.ts[i] = ts;
    events.values[i] = JSON.stringify({ userId: id, ts, type: events.types[events.type[i] as number] });
  }
  events.valueBytes = events.values.reduce((n, v) => n + Buffer.byteLength(v), 0);
  return events;
}

/**
 * N activity events from the simulator (bench/sim/activity.ts) instead of uniform draws: each
 * user of the population at `eventsPerUserDay` (the target load's 200 by default), in the
 * user's own habitual hours, as sessions (an app open, views, sometimes a cart or a purchase)
 * of the categories they like. The N latest before BENCH_START, in time order. Unlike the
 * uniform workload, a user's events come in runs a few minutes apart and some users have
 * many more than others, as on a real events topic: what the read cache and write-behind
 * are for.
 */
export function activityEvents(count: number, users: number, seed: number, eventsPerUserDay = TARGET_EVENTS_PER_USER_DAY): BenchEvents {
  if (!(eventsPerUserDay > 0) || !Number.isFinite(eventsPerUserDay)) throw new RangeError(`events a user a day must be a finite number > 0, got ${eventsPerUserDay}`);
  const scale = activityScaleFor(eventsPerUserDay);
  // A window that should hold about N events, widened until it does (the hour of day matters).
  let span = Math.max(HOUR, Math.ceil(((count / (users * eventsPerUserDay)) * DAY * 1.25) / HOUR) * HOUR);
  for (;;) {
    const from = BENCH_START - span;
    const drawn: Array<{ ts: number; user: number; type: number; value: string }> = [];
    const ids = new Array<string>(users);
    for (let u = 0; u < users; u++) {
      const user = simUser(DEFAULT_WORLD, u);
      ids[u] = user.userId;
      for (const e of userEvents(user, from, BENCH_START, seed, { scale })) {
        // A session that starts just before now has its views a few minutes later: not yet.
        if (e.ts >= BENCH_START) continue;
        drawn.push({ ts: e.ts, user: u, type: EVENT_TYPES.indexOf(e.type), value: JSON.stringify(e) });
      }
    }
    if (drawn.length < count && span < 365 * DAY) {
      span *= 2;
      continue;
    }
    if (drawn.length < count) throw new RangeError(`${users} users at ${eventsPerUserDay} events a day make fewer than ${count} events in ${Math.round(span / DAY)} days`);
    // Time order, as a topic holds them; a user's own events keep their order (the sort is stable).
    drawn.sort((a, b) => a.ts - b.ts);
    const kept = drawn.slice(drawn.length - count);
    const out: BenchEvents = {
      keys: new Array<string>(count),
      values: new Array<string>(count),
      user: new Uint32Array(count),
      type: new Uint8Array(count),
      ts: new Float64Array(count),
      types: EVENT_TYPES,
      distinctUsers: 0,
      valueBytes: 0,
    };
    const seen = new Uint8Array(users);
    kept.forEach((e, i) => {
      out.keys[i] = ids[e.user] as string;
      out.values[i] = e.value;
      out.user[i] = e.user;
      out.type[i] = e.type;
      out.ts[i] = e.ts;
      seen[e.user] = 1;
      out.valueBytes += Buffer.byteLength(e.value);
    });
    for (const x of seen) out.distinctUsers += x;
    return out;
  }
}
