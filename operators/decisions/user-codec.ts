import type { StoreCodec } from '../../state/key-value-store.js';
import type { KeyTuple } from '../../state/key-codec.js';
import { decisionIdFor } from './decision-record.js';
import type { ActivityFeatures, Channel, Kind, PendingSend, ProfileState, SendMark, UserState } from './types.js';

/*
 * The stored form of UserState: positional arrays, codes instead of names, seconds instead
 * of milliseconds, counts in hundredths, the hour-of-week histogram as bytes relative to
 * its maximum, and no decision ids (they follow from campaign and user). About a third of
 * the plain msgpack size: the target is under 1 KB for an active user.
 */

const KINDS: readonly Kind[] = ['transactional', 'service', 'promotional', 'reminder'];
const CHANNELS: readonly Channel[] = ['sms', 'push'];
const PLATFORMS = ['fcm', 'apns', 'web'] as const;
const TYPES = ['app_open', 'view', 'click', 'add_to_cart', 'purchase', 'push_open', 'sms_click', 'sms_inbound', 'uninstall'];

type CompactProfile = [string | 0, string | 0, string | 0, string | null, number, number[] | 0, Array<number | string>, [number, number] | 0, number | null, string | null];
// The seventh element, per-category counts in hundredths, is absent when the user has none (and in state written before it existed).
type CompactFeatures = [number, number[], number[], Uint8Array | 0, number, number[], number[]?];
type CompactUser = [2, CompactProfile | 0, CompactFeatures, number[], Array<Array<number | string>>];

const sec = (ms: number) => Math.round(ms / 1000);
const ms = (s: number) => s * 1000;
const hundredths = (x: number) => Math.round(x * 100);
const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
const markCode = (ch: Channel, k: Kind) => CHANNELS.indexOf(ch) * 4 + KINDS.indexOf(k);

function encodeProfile(p: ProfileState): CompactProfile {
  // Two bits per (channel, kind): granted, and withdrawn (a STOP that must outlive later profile records).
  let bits = 0;
  for (let i = 0; i < 2; i++) {
    const given = p.consent[CHANNELS[i] as Channel];
    for (let j = 0; j < 4; j++) {
      const v = given[KINDS[j] as Kind];
      if (v === true) bits |= 1 << (i * 8 + j);
      else if (v === false) bits |= 1 << (i * 8 + 4 + j);
    }
  }
  const ncpr = p.ncpr === undefined ? 0 : [p.ncpr.fullyBlocked === true ? 1 : 0, ...(p.ncpr.allowedCategories ?? [])];
  const tokens = p.pushTokens.flatMap((t) => [PLATFORMS.indexOf(t.platform), t.token]);
  const quiet: [number, number] | 0 = p.quietHours ? [minutes(p.quietHours.start), minutes(p.quietHours.end)] : 0;
  return [p.country ?? 0, p.timezone ?? 0, p.language ?? 0, p.phone ?? null, bits, ncpr, tokens, quiet, p.value ?? null, p.name ?? null];
}

function decodeProfile(c: CompactProfile): ProfileState {
  const [country, timezone, language, phone, bits, ncpr, tokens, quiet, value, name] = c;
  const consent: ProfileState['consent'] = { sms: {}, push: {} };
  for (let i = 0; i < 2; i++) {
    const out = consent[CHANNELS[i] as Channel];
    for (let j = 0; j < 4; j++) {
      if (bits & (1 << (i * 8 + j))) out[KINDS[j] as Kind] = true;
      else if (bits & (1 << (i * 8 + 4 + j))) out[KINDS[j] as Kind] = false;
    }
  }
  const pushTokens: ProfileState['pushTokens'] = [];
  for (let i = 0; i + 1 < tokens.length; i += 2) pushTokens.push({ platform: PLATFORMS[tokens[i] as number] ?? 'fcm', token: tokens[i + 1] as string });
  // Assigned field by field: this runs for every event of every user, and spreads allocate.
  const p: ProfileState = { consent, pushTokens };
  if (country !== 0) p.country = country;
  if (timezone !== 0) p.timezone = timezone;
  if (language !== 0) p.language = language;
  if (phone !== null) p.phone = phone;
  if (ncpr !== 0) p.ncpr = { fullyBlocked: ncpr[0] === 1, allowedCategories: ncpr.slice(1) };
  if (quiet !== 0) p.quietHours = { start: hhmm(quiet[0]), end: hhmm(quiet[1]) };
  if (value !== null) p.value = value;
  if (name !== null) p.name = name;
  return p;
}

function encodeFeatures(f: ActivityFeatures): CompactFeatures {
  const counts: number[] = [];
  for (const type in f.c) {
    const c = f.c[type];
    if (c === undefined) continue;
    counts.push(TYPES.indexOf(type), hundredths(c[0]), hundredths(c[1]), hundredths(c[2]), hundredths(c[3]));
  }
  const last: number[] = [];
  for (const type in f.last) {
    const t = f.last[type];
    if (t !== undefined) last.push(TYPES.indexOf(type), sec(t));
  }
  let how: Uint8Array | 0 = 0;
  let max = 0;
  const h = f.how;
  if (h !== undefined) {
    for (let i = 0; i < h.length; i++) if ((h[i] as number) > max) max = h[i] as number;
    if (max > 0) {
      how = new Uint8Array(h.length);
      const scale = 255 / max;
      for (let i = 0; i < h.length; i++) how[i] = Math.round((h[i] as number) * scale);
    }
  }
  const ch: number[] = [];
  for (const c of CHANNELS) {
    const v = f.ch[c];
    ch.push(v === undefined ? -1 : hundredths(v.s), v === undefined ? -1 : hundredths(v.c));
  }
  const cat = f.cat;
  if (cat === undefined) return [sec(f.at), counts, last, how, max, ch];
  const categories = new Array<number>(cat.length);
  for (let i = 0; i < cat.length; i++) categories[i] = hundredths(cat[i] as number);
  return [sec(f.at), counts, last, how, max, ch, categories];
}

function decodeFeatures(c: CompactFeatures): ActivityFeatures {
  const [at, counts, last, how, max, ch, categories] = c;
  const f: ActivityFeatures = { at: ms(at), c: {}, last: {}, ch: {} };
  for (let i = 0; i + 4 < counts.length; i += 5) {
    f.c[TYPES[counts[i] as number] as string] = [(counts[i + 1] as number) / 100, (counts[i + 2] as number) / 100, (counts[i + 3] as number) / 100, (counts[i + 4] as number) / 100];
  }
  for (let i = 0; i + 1 < last.length; i += 2) f.last[TYPES[last[i] as number] as string] = ms(last[i + 1] as number);
  if (how !== 0) {
    const out = new Array<number>(how.length);
    const scale = max / 255;
    for (let i = 0; i < how.length; i++) out[i] = Math.round((how[i] as number) * scale);
    f.how = out;
  }
  CHANNELS.forEach((name, i) => {
    const s = ch[i * 2] as number;
    if (s >= 0) f.ch[name] = { s: s / 100, c: (ch[i * 2 + 1] as number) / 100 };
  });
  if (categories !== undefined) f.cat = categories.map((x) => x / 100);
  return f;
}

/** What a round trip leaves of a profile: decodeProfile(encodeProfile(p)) without the compact form. */
function canonicalProfile(p: ProfileState): ProfileState {
  const consent: ProfileState['consent'] = { sms: {}, push: {} };
  for (const channel of CHANNELS) {
    const given = p.consent[channel];
    const out = consent[channel];
    for (const kind of KINDS) {
      const v = given[kind];
      if (v === true || v === false) out[kind] = v;
    }
  }
  const pushTokens: ProfileState['pushTokens'] = [];
  for (const t of p.pushTokens) pushTokens.push({ platform: PLATFORMS.includes(t.platform) ? t.platform : 'fcm', token: t.token });
  const out: ProfileState = { consent, pushTokens };
  if (p.country != null && (p.country as unknown) !== 0) out.country = p.country;
  if (p.timezone != null && (p.timezone as unknown) !== 0) out.timezone = p.timezone;
  if (p.language != null && (p.language as unknown) !== 0) out.language = p.language;
  if (p.phone != null) out.phone = p.phone;
  if (p.ncpr !== undefined) out.ncpr = { fullyBlocked: p.ncpr.fullyBlocked === true, allowedCategories: [...(p.ncpr.allowedCategories ?? [])] };
  if (p.quietHours) out.quietHours = { start: hhmm(minutes(p.quietHours.start)), end: hhmm(minutes(p.quietHours.end)) };
  if (p.value != null) out.value = p.value;
  if (p.name != null) out.name = p.name;
  return out;
}

/**
 * What canonicalHistogram last made of each hour-of-week array: the maximum it scaled by and
 * the values it left. A user's records in one batch read the state back through canonical()
 * after every put (write-behind), and between two reads an event changes one bucket, so
 * quantising all 168 again was a seventh of the history load's CPU.
 */
const histograms = new WeakMap<number[], { max: number; values: Float64Array }>();

/**
 * The histogram as encode (bytes relative to the maximum) then decode leave it, in place;
 * false when it is empty. Only the entries that differ from what this function last left
 * are quantised again, unless the maximum moved: an entry it left is its own image. (With
 * q(x) = round(round(x·255/M)·M/255), q(q(x)) = q(x): for M ≤ 255 every integer is fixed,
 * the first rounding being finer than the second; for M > 255, x = q(y) lies within 0.5 of
 * k·M/255, so x·255/M lies within 0.5·255/M < 0.499 of k and rounds back to it.)
 */
function canonicalHistogram(h: number[]): boolean {
  const seen = histograms.get(h);
  const left = seen !== undefined && seen.values.length === h.length ? seen.values : undefined;
  // One pass finds the maximum and the entries changed since (usually one or two).
  let max = 0;
  let changed = 0;
  for (let i = 0; i < h.length; i++) {
    const x = h[i] as number;
    if (x > max) max = x;
    if (left !== undefined && x !== left[i] && changed < CHANGED.length) CHANGED[changed++] = i;
  }
  if (!(max > 0)) return false;
  const scale = 255 / max;
  const back = max / 255;
  if (left !== undefined && seen?.max === max && changed < CHANGED.length) {
    for (let j = 0; j < changed; j++) {
      const i = CHANGED[j] as number;
      const y = Math.round((Math.round((h[i] as number) * scale) & 255) * back);
      h[i] = y;
      left[i] = y;
    }
    return true;
  }
  const values = left ?? new Float64Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const y = Math.round((Math.round((h[i] as number) * scale) & 255) * back);
    h[i] = y;
    values[i] = y;
  }
  histograms.set(h, { max, values });
  return true;
}

/** canonicalHistogram's list of changed entries; beyond this many it quantises them all. */
const CHANGED = new Int32Array(16);

/** What a round trip leaves of the features, done in place: the rounding, not the allocations. */
function canonicalFeatures(f: ActivityFeatures): void {
  f.at = ms(sec(f.at));
  for (const type in f.c) {
    const c = f.c[type];
    if (c === undefined) continue;
    for (let i = 0; i < 4; i++) c[i] = hundredths(c[i] as number) / 100;
  }
  for (const type in f.last) {
    const t = f.last[type];
    if (t !== undefined) f.last[type] = ms(sec(t));
  }
  if (f.how !== undefined && !canonicalHistogram(f.how)) delete f.how;
  for (const c of CHANNELS) {
    const v = f.ch[c];
    if (v === undefined) continue;
    if (hundredths(v.s) < 0) delete f.ch[c];
    else {
      // In place: the value is the store's (see canonical), and a fresh object per read adds up.
      v.s = hundredths(v.s) / 100;
      v.c = hundredths(v.c) / 100;
    }
  }
  const cat = f.cat;
  if (cat !== undefined) for (let i = 0; i < cat.length; i++) cat[i] = hundredths(cat[i] as number) / 100;
}

/** Codec of the users store; the key supplies the user id that pending decision ids are made from. */
export const userCodec: StoreCodec<UserState> = {
  /**
   * decode(encode(u)) in fewer allocations, for write-behind (KeyValueStore): a value held
   * since a put is read back as this, so that the state is what it would be had it been
   * stored and read back. Changes `u` and returns the result; a test holds it equal to the
   * round trip.
   */
  canonical(u: UserState, key: KeyTuple): UserState {
    const userId = String(key[0]);
    canonicalFeatures(u.features);
    // Objects are built field by field, not with conditional spreads: V8 copies a spread
    // generically, and this runs for every record of a user after the first in a batch (the
    // line that spread the result was among the hottest in a profile of the demo).
    const sent: SendMark[] = [];
    for (const m of u.sent) {
      const mark: SendMark = { t: ms(sec(m.t)), ch: m.ch, k: m.k };
      if (m.cat !== undefined && m.cat >= 0) mark.cat = m.cat;
      sent.push(mark);
    }
    const pending: PendingSend[] = [];
    for (const p of u.pending) {
      const c: PendingSend = { t: ms(sec(p.t)), ch: p.ch, k: p.k, decisionId: decisionIdFor(p.campaignId, userId), campaignId: p.campaignId, ev: Math.round(p.ev * 1000) / 1000, priority: p.priority };
      if (p.cat !== undefined && p.cat >= 0) c.cat = p.cat;
      pending.push(c);
    }
    return u.profile !== undefined ? { v: 1, profile: canonicalProfile(u.profile), features: u.features, sent, pending } : { v: 1, features: u.features, sent, pending };
  },
  encode(u: UserState): unknown {
    const sent: number[] = [];
    for (const m of u.sent) sent.push(sec(m.t), markCode(m.ch, m.k), m.cat ?? -1);
    const pending = u.pending.map((p) => [sec(p.t), markCode(p.ch, p.k), p.cat ?? -1, p.campaignId, Math.round(p.ev * 1000), p.priority]);
    return [2, u.profile === undefined ? 0 : encodeProfile(u.profile), encodeFeatures(u.features), sent, pending] satisfies CompactUser;
  },
  decode(stored: unknown, key: KeyTuple): UserState {
    const [, profile, features, sent, pending] = stored as CompactUser;
    const userId = String(key[0]);
    const marks: SendMark[] = [];
    for (let i = 0; i + 2 < sent.length; i += 3) {
      const code = sent[i + 1] as number;
      const cat = sent[i + 2] as number;
      marks.push({ t: ms(sent[i] as number), ch: CHANNELS[code >> 2] as Channel, k: KINDS[code & 3] as Kind, ...(cat >= 0 ? { cat } : {}) });
    }
    const pend: PendingSend[] = pending.map(([t, code, cat, campaignId, ev, priority]) => ({
      t: ms(t as number),
      ch: CHANNELS[(code as number) >> 2] as Channel,
      k: KINDS[(code as number) & 3] as Kind,
      ...((cat as number) >= 0 ? { cat: cat as number } : {}),
      decisionId: decisionIdFor(campaignId as string, userId),
      campaignId: campaignId as string,
      ev: (ev as number) / 1000,
      priority: priority as number,
    }));
    return { v: 1, ...(profile !== 0 ? { profile: decodeProfile(profile) } : {}), features: decodeFeatures(features), sent: marks, pending: pend };
  },
};
