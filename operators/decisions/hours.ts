import type { CountryRules, HoursRule, SendingWindow } from '../../config/rules-schema.js';
import { instantOf, localTime, offsetMinutes, parseHourMinute } from './local-time.js';
import type { Channel, Kind, RuleResult } from './types.js';

/*
 * Legal sending hours (per country and channel) and the user's own quiet hours, both in the
 * user's local wall-clock time. Pure: no clock, no I/O; every time is epoch ms.
 *
 * A window is a set of instant intervals, one per listed local day d:
 *   [instantOf(d, start), instantOf(d, end))      when end > start
 *   [instantOf(d, start), instantOf(d + 1, end))  when end < start (wraps past midnight)
 *   nothing                                        when end = start
 * so a boundary that does not exist on a spring-forward day (02:30 in New York on
 * 2026-03-08) is the instant instantOf gives for it (03:30 EDT, shifted forward by the gap),
 * and one that exists twice on a fall-back day is its first occurrence. Membership and
 * allowedFrom are both defined on these instants, so `isAllowed(allowedFrom)` always holds
 * and nothing earlier is ever allowed.
 *
 * Hot path: when the zone's offset is the same from three days before to three days after
 * `at` (every day of the year but a few around DST changes) those instants are exactly
 * local midnight + minutes, and membership is plain minute-of-day arithmetic on localTime.
 */

const DAY = 86_400_000;
const END_OF_DAY = 1440;
/** checkLegalHours looks this far ahead for allowedFrom. */
const LEGAL_SEARCH_MS = 8 * DAY;
/**
 * Window instances that can contain `at` start no earlier than local day − 1 and end no later
 * than local day + 2, i.e. within ±2 days of `at` (plus an offset change of a few hours). If
 * the offset is unchanged at ±3 days, no transition lies in between (no zone changes its
 * offset twice within six days) and wall-clock arithmetic is exact.
 */
const STABLE_SPAN_MS = 3 * DAY;
/** Guard against a pathological rule set making the legal/quiet alternation spin. */
const MAX_STEPS = 10_000;

export type QuietHours = { start: string; end: string } | null | undefined;

const parsed = new Map<string, number>();

/** "HH:MM" → minutes, memoised: the same few strings are parsed on every check and split() allocates. */
function minutes(value: string): number {
  let m = parsed.get(value);
  if (m === undefined) {
    m = parseHourMinute(value);
    // Schema-validated upstream; a malformed value is a bug, and ignoring it would silently
    // drop a legal restriction, so refuse loudly (and do not cache it).
    if (!Number.isInteger(m) || m < 0 || m > END_OF_DAY) throw new RangeError(`not a time of day (HH:MM): ${JSON.stringify(value)}`);
    parsed.set(value, m);
  }
  return m;
}

/** ISO weekday of local day number `day` (days since 1970-01-01, a Thursday), as localTime computes it. */
function weekdayOf(day: number): number {
  return ((((day + 3) % 7) + 7) % 7) + 1;
}

/** The instant local time reads `minute` on local `day`; 24:00 is 00:00 of the next day. */
function boundary(day: number, minute: number, timeZone: string): number {
  return minute >= END_OF_DAY ? instantOf(day + 1, minute - END_OF_DAY, timeZone) : instantOf(day, minute, timeZone);
}

/** End instant of the instance of [start, end) that begins on local `day`. */
function instanceEnd(day: number, start: number, end: number, timeZone: string): number {
  return end > start ? boundary(day, end, timeZone) : boundary(day + 1, end, timeZone);
}

/** `at` with its local calendar position, computed once per check and shared by every rule. */
interface Probe {
  at: number;
  day: number;
  minute: number;
  weekday: number;
  prevWeekday: number;
  /** Wall-clock arithmetic is exact around `at` (no offset change within ±3 days). */
  stable: boolean;
}

function probe(at: number, timeZone: string): Probe {
  const lt = localTime(at, timeZone);
  const stable = offsetMinutes(at - STABLE_SPAN_MS, timeZone) === lt.offset && offsetMinutes(at + STABLE_SPAN_MS, timeZone) === lt.offset;
  return { at, day: lt.day, minute: lt.minuteOfDay, weekday: lt.weekday, prevWeekday: lt.weekday === 1 ? 7 : lt.weekday - 1, stable };
}

/**
 * Fast path (offset stable around `p.at`): whether `p.at` lies in an instance of
 * [start, end) that begins on one of `days` (every day when undefined), by minute of day
 * alone. A wrapping instance that began yesterday counts when yesterday is listed.
 */
function containsWall(p: Probe, start: number, end: number, days: readonly number[] | undefined): boolean {
  if (end > start) return p.minute >= start && p.minute < end && (days === undefined || days.includes(p.weekday));
  if (end < start) {
    return (p.minute >= start && (days === undefined || days.includes(p.weekday))) || (p.minute < end && (days === undefined || days.includes(p.prevWeekday)));
  }
  return false;
}

/** Slow path near DST changes: the instance (starting on local day − 1, day or day + 1) holding `p.at`, by its end instant. */
function containingEnd(p: Probe, start: number, end: number, days: readonly number[] | undefined, timeZone: string): number | undefined {
  if (start === end) return undefined;
  for (let d = p.day - 1; d <= p.day + 1; d++) {
    if (days !== undefined && !days.includes(weekdayOf(d))) continue;
    const from = boundary(d, start, timeZone);
    if (from > p.at) continue;
    const to = instanceEnd(d, start, end, timeZone);
    if (p.at < to) return to;
  }
  return undefined;
}

function inWindow(p: Probe, w: SendingWindow, timeZone: string): boolean {
  const start = minutes(w.start);
  const end = minutes(w.end);
  return p.stable ? containsWall(p, start, end, w.days) : containingEnd(p, start, end, w.days, timeZone) !== undefined;
}

function applies(rule: HoursRule, channel: Channel, kind: Kind): boolean {
  return rule.channels.includes(channel) && rule.kinds.includes(kind);
}

function ruleAllows(rule: HoursRule, p: Probe, timeZone: string): boolean {
  for (const w of rule.windows) if (inWindow(p, w, timeZone)) return true;
  return false;
}

/**
 * The earliest non-empty window instance of `rule` starting at or after `t` and no later
 * than `limit`. Called only when `t` is in none of its instances, so that start is the
 * earliest instant ≥ t the rule allows. Windows recur weekly: days − 1 … + 8 cover it.
 */
function ruleNextStart(rule: HoursRule, t: number, day: number, limit: number, timeZone: string): number | undefined {
  let best: number | undefined;
  for (const w of rule.windows) {
    const start = minutes(w.start);
    const end = minutes(w.end);
    if (start === end) continue;
    for (let d = day - 1; d <= day + 8; d++) {
      if (!w.days.includes(weekdayOf(d))) continue;
      const from = boundary(d, start, timeZone);
      if (from > limit || (best !== undefined && from >= best)) break;
      if (from < t) continue;
      // A window lying wholly inside a DST gap (02:00–03:00 on a spring-forward night) has
      // no instant at all that day.
      if (instanceEnd(d, start, end, timeZone) <= from) continue;
      best = from;
      break;
    }
  }
  return best;
}

/**
 * Earliest instant in [t, limit] every applicable legal rule allows (t itself when it is
 * allowed). Moving to the latest of the failing rules' next window starts skips only
 * instants some rule forbids, so the first instant all accept is never jumped over.
 */
function legalFrom(t: number, channel: Channel, kind: Kind, timeZone: string, rules: CountryRules, limit: number): number | undefined {
  for (let step = 0; step < MAX_STEPS; step++) {
    if (t > limit) return undefined;
    let p: Probe | undefined;
    let next = t;
    for (const rule of rules.legalHours) {
      if (!applies(rule, channel, kind)) continue;
      p ??= probe(t, timeZone);
      if (ruleAllows(rule, p, timeZone)) continue;
      const from = ruleNextStart(rule, t, p.day, limit, timeZone);
      if (from === undefined) return undefined;
      if (from > next) next = from;
    }
    if (next === t) return t;
    t = next;
  }
  return undefined;
}

/** The end of the quiet period holding `p.at`, or undefined when `p.at` is not in quiet hours. */
function quietEnd(p: Probe, start: number, end: number, timeZone: string): number | undefined {
  if (!p.stable) return containingEnd(p, start, end, undefined, timeZone);
  if (!containsWall(p, start, end, undefined)) return undefined;
  // In the instance starting today unless we are past midnight in one that started yesterday.
  const startedYesterday = end < start && p.minute < end;
  return instanceEnd(startedYesterday ? p.day - 1 : p.day, start, end, timeZone);
}

/** Earliest instant in [t, limit] outside quiet hours (t itself when it is outside). */
function quietFrom(t: number, kind: Kind, timeZone: string, quiet: QuietHours, limit: number): number | undefined {
  if (kind === 'transactional' || quiet === null || quiet === undefined) return t;
  const start = minutes(quiet.start);
  const end = minutes(quiet.end);
  if (start === end) return t;
  // Quiet periods are shorter than a day and do not touch, except 00:00–24:00 (always quiet)
  // or a DST change joining two: then the next one's end is the answer, within the limit.
  for (let step = 0; step < MAX_STEPS; step++) {
    if (t > limit) return undefined;
    const until = quietEnd(probe(t, timeZone), start, end, timeZone);
    if (until === undefined) return t;
    t = until;
  }
  return undefined;
}

/**
 * Legal sending hours: allowed only if `at` lies in a window of every rule of
 * `rules.legalHours` that lists both this channel and this kind (so transactional and
 * service messages are free unless a rule names them). Refused → legal_hours, with the next
 * allowed instant within 8 days when there is one.
 */
export function checkLegalHours(at: number, channel: Channel, kind: Kind, timeZone: string, rules: CountryRules): RuleResult {
  const from = legalFrom(at, channel, kind, timeZone, rules, at + LEGAL_SEARCH_MS);
  if (from === at) return { reasons: [] };
  return from === undefined ? { reasons: ['legal_hours'] } : { reasons: ['legal_hours'], allowedFrom: from };
}

/**
 * The user's do-not-disturb window [start, end) in their local time, wrapping midnight when
 * end < start; start = end means none. Transactional messages are exempt (an OTP must
 * arrive). Violated → quiet_hours, allowed from the end of the quiet period.
 */
export function checkQuietHours(at: number, kind: Kind, timeZone: string, quiet: QuietHours): RuleResult {
  const from = quietFrom(at, kind, timeZone, quiet, at + LEGAL_SEARCH_MS);
  if (from === at) return { reasons: [] };
  return from === undefined ? { reasons: ['quiet_hours'] } : { reasons: ['quiet_hours'], allowedFrom: from };
}

/**
 * The earliest instant in [at, at + horizonMs] allowed by both legal and quiet hours, or
 * undefined. Alternates: the first legal instant, then the end of quiet hours if it falls
 * in them, then the first legal instant from there, … until both agree.
 */
export function nextAllowed(
  at: number,
  channel: Channel,
  kind: Kind,
  timeZone: string,
  rules: CountryRules,
  quiet: QuietHours,
  horizonMs: number,
): number | undefined {
  if (!(horizonMs >= 0)) return undefined;
  const limit = at + horizonMs;
  let t = at;
  for (let step = 0; step < MAX_STEPS; step++) {
    const legal = legalFrom(t, channel, kind, timeZone, rules, limit);
    if (legal === undefined) return undefined;
    const calm = quietFrom(legal, kind, timeZone, quiet, limit);
    if (calm === undefined) return undefined;
    if (calm === legal) return legal;
    t = calm;
  }
  return undefined;
}

/** Boolean form for scoring candidate slots: no result objects, one localTime per call. */
export function isAllowed(at: number, channel: Channel, kind: Kind, timeZone: string, rules: CountryRules, quiet: QuietHours): boolean {
  let p: Probe | undefined;
  for (const rule of rules.legalHours) {
    if (!applies(rule, channel, kind)) continue;
    p ??= probe(at, timeZone);
    if (!ruleAllows(rule, p, timeZone)) return false;
  }
  if (kind === 'transactional' || quiet === null || quiet === undefined) return true;
  const start = minutes(quiet.start);
  const end = minutes(quiet.end);
  if (start === end) return true;
  p ??= probe(at, timeZone);
  return p.stable ? !containsWall(p, start, end, undefined) : containingEnd(p, start, end, undefined, timeZone) === undefined;
}
