import { ConfigError } from '../errors/index.js';
import type { CampaignInput } from '../processor/messages/index.js';
import { mixSeed, mulberry32 } from '../bench/sim/random.js';
import { DEFAULT_WORLD, simUser, type SimUser, type WorldConfig } from '../bench/sim/population.js';

export interface DemoArgs {
  users: number;
  partitions: number;
  seed: number;
  hours: number;
  historyDays: number;
  /**
   * Multiplies every simulated user's sessions a day (bench/sim/activity.ts; default 1, about 12
   * events a user a day). The CLI sets it from --events-per-user-day.
   */
  activityScale?: number;
  /**
   * Replicas to run, each on a thread of its own and owning every `replicas`-th partition, as
   * the members of a consumer group share a topic's partitions (default 1: one replica, in
   * the calling thread).
   */
  replicas?: number;
  /** `fake`: sends go over HTTP to the provider fakes on loopback; `recorded`: recorded as sent in-process. */
  providers?: 'fake' | 'recorded';
  /** models.scorer of the replica: the shipped learned model (default) or the heuristics. */
  scorer?: 'learned' | 'heuristic';
  /**
   * A directory to keep each replica's log and state in, as `replica-1`, `replica-2`, …, each
   * laid out as a `nudge run` state directory, so that `nudge export` reads its topics. Without
   * it they are made in the system's temporary directory and removed at the end.
   */
  keep?: string;
}

/** The demo's replica count, checked: 1 to the partition count (a replica owns at least one partition). */
export function demoReplicas(args: Pick<DemoArgs, 'partitions' | 'replicas'>): number {
  const replicas = args.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > args.partitions) throw new ConfigError('--replicas', `got ${replicas}`, `an integer from 1 to --partitions (${args.partitions})`);
  return replicas;
}

const PRODUCTS = ['running shoes', 'a kurta', 'headphones', 'a smartwatch', 'a saree', 'a backpack'];

/** Monday 2026-11-23, 09:00 in India: when the demo's campaigns start. */
export const DEMO_START = Date.UTC(2026, 10, 23, 3, 30);

/** Epoch milliseconds, comparable between threads (performance.now() counts from each thread's start). */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/**
 * The demo's candidates, in order: every user is drawn into each campaign's audience at that
 * campaign's rate from one seeded stream, so every replica draws the same audience and keeps
 * the rows of its own users. They are written campaign by campaign, as a campaign's producer
 * uploads its audience: a user's candidates then fall in different batches, and each is
 * decided on the state the previous one left.
 */
export function demoCandidates(args: DemoArgs, campaigns: readonly CampaignInput[], keep: (userIndex: number) => boolean = () => true): Array<{ campaignId: string; userId: string; vars: Record<string, string> }> {
  const rng = mulberry32(mixSeed(args.seed, 7));
  const byCampaign = campaigns.map(() => [] as Array<{ campaignId: string; userId: string; vars: Record<string, string> }>);
  const audience: Record<string, number> = { 'otp-login': 0.02, 'flash-sale': 0.6, 'cart-reminder': 0.25 };
  for (let i = 0; i < args.users; i++) {
    campaigns.forEach((c, k) => {
      if (rng() >= (audience[c.campaignId] ?? 0)) return;
      const vars: Record<string, string> = c.campaignId === 'otp-login' ? { otp: String(100000 + Math.floor(rng() * 900000)) } : { product: PRODUCTS[i % PRODUCTS.length] as string };
      if (keep(i)) byCampaign[k]?.push({ campaignId: c.campaignId, userId: `u${i}`, vars });
    });
  }
  return byCampaign.flat();
}

/** The demo's simulated world and its users by id (`u0`, `u1`, …), each made once, when first asked for. */
export function demoUsers(seed: number): { world: WorldConfig; userOf: (userId: string) => SimUser } {
  const world = { ...DEFAULT_WORLD, seed };
  const users = new Map<string, SimUser>();
  const userOf = (id: string) => {
    let u = users.get(id);
    if (u === undefined) users.set(id, (u = simUser(world, Number(id.slice(1)))));
    return u;
  };
  return { world, userOf };
}

/** A user's past events by local hour, from counters of 24 a user (user index × 24); undefined for an id outside them. */
export function historyLookup(byHour: Uint16Array, users: number): (userId: string) => readonly number[] | undefined {
  return (id) => {
    const i = Number(id.slice(1));
    return Number.isInteger(i) && i >= 0 && i < users ? Array.from(byHour.subarray(i * 24, i * 24 + 24)) : undefined;
  };
}
