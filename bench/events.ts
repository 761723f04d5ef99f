import type { EventType } from '../processor/messages/index.js';

/** Fixed so that two runs (and two machines) process the very same events. */
export const DEFAULT_SEED = 0x6e75_6467; // "nudg"

/** Event types the generator draws from: the common ones, none needing optional fields. */
export const EVENT_TYPES: readonly EventType[] = ['app_open', 'view', 'click', 'add_to_cart', 'purchase', 'push_open'];

/** 2025-11-21T08:00:00Z: a fixed start, so values (and their sizes) do not depend on the day of the run. */
const TS_BASE = 1_763_712_000_000;

export interface BenchEvents {
  /** Record keys: the userId, as the decoder requires. */
  keys: string[];
  /** JSON values exactly as producers would write them. */
  values: string[];
  /** Per event: user index and type index, for the raw reference that skips JSON. */
  user: Uint32Array;
  type: Uint8Array;
  ts: Float64Array;
  types: readonly EventType[];
  /** Distinct users that got at least one event (a few of U may get none). */
  distinctUsers: number;
  /** Bytes of all values, to show what the wire carries. */
  valueBytes: number;
}

/** mulberry32: tiny, fast, and the same sequence on every platform for a given seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function userId(index: number): string {
  return `user-${index}`;
}

/**
 * N events over U users, users drawn uniformly: uniform is the hardest case for the
 * read cache short of a cache smaller than the user count, and it needs no tuning knob.
 */
export function generateEvents(count: number, users: number, seed = DEFAULT_SEED): BenchEvents {
  const rand = mulberry32(seed);
  const keys = new Array<string>(count);
  const values = new Array<string>(count);
  const user = new Uint32Array(count);
  const type = new Uint8Array(count);
  const ts = new Float64Array(count);
  const seen = new Uint8Array(users);
  let valueBytes = 0;
  for (let i = 0; i < count; i++) {
    const u = Math.floor(rand() * users);
    const t = Math.floor(rand() * EVENT_TYPES.length);
    const id = userId(u);
    const at = TS_BASE + i * 10;
    user[i] = u;
    type[i] = t;
    ts[i] = at;
    seen[u] = 1;
    keys[i] = id;
    const value = JSON.stringify({ userId: id, ts: at, type: EVENT_TYPES[t] });
    values[i] = value;
    valueBytes += Buffer.byteLength(value);
  }
  let distinctUsers = 0;
  for (const s of seen) distinctUsers += s;
  return { keys, values, user, type, ts, types: EVENT_TYPES, distinctUsers, valueBytes };
}
