import type { CapRule } from '../../config/rules-schema.js';
import { instantOf, localTime } from './local-time.js';
import type { Channel, Kind, PendingSend, Reason, SendMark } from './types.js';

/*
 * Frequency caps and the minimum gap between two messages to one user. Pure: no clock, no
 * I/O; every time is epoch ms.
 *
 * Every rule is checked together (AND). Both messages already sent and scheduled ones
 * (pending) hold a slot, and windows are symmetric around the instant checked: a rolling
 * window counts marks less than windowMs away on either side (every rolling window that
 * contains `at`, conservatively), a local-day window marks whose user-local calendar day is
 * less than localDays days away. Transactional messages are never capped or gapped and never
 * count against anything.
 */

const DAY = 86_400_000;

export interface CapCheckInput {
  /** The instant the new message would go out. */
  at: number;
  channel: Channel;
  kind: Kind;
  /** NCPR / business category of the new message's campaign, when it has one. */
  category?: number;
  /** The user's zone: local-day windows use the user's calendar day, not UTC's. */
  timeZone: string;
  sent: readonly SendMark[];
  pending: readonly PendingSend[];
  caps: readonly CapRule[];
  minGapMs: number;
}

export interface CapCheckResult {
  /** cap_global / cap_channel / cap_category / min_gap, each once, in rule order, the gap last. */
  reasons: Reason[];
  /** Pending sends counted in a violated rule or the gap, once each, in `pending` order. */
  blockers: PendingSend[];
  /**
   * The earliest instant ≥ at at which the message would pass every rule and the gap, given
   * the same sent and pending marks; omitted when nothing ever would (a rule with max 0).
   */
  allowedFrom?: number;
}

const SCOPE_REASON: Record<CapRule['scope'], Reason> = { global: 'cap_global', channel: 'cap_channel', category: 'cap_category' };

/** Whether `rule` limits the new message at all. */
function ruleApplies(rule: CapRule, input: CapCheckInput): boolean {
  if (!rule.kinds.includes(input.kind)) return false;
  switch (rule.scope) {
    case 'global':
      return true;
    case 'channel':
      // Without a channel the rule applies to each channel separately, so to this one.
      return rule.channel === undefined || rule.channel === input.channel;
    case 'category':
      // A message with no category is in no category: category rules cannot limit it.
      return input.category !== undefined && (rule.category === undefined || rule.category === input.category);
  }
}

/** Whether mark `m` counts against `rule` for the new message (the rule is known to apply). */
function counts(rule: CapRule, m: SendMark, input: CapCheckInput): boolean {
  if (m.k === 'transactional' || !rule.kinds.includes(m.k)) return false;
  switch (rule.scope) {
    case 'global':
      return true;
    case 'channel':
      // Equal to rule.channel when it is set: ruleApplies checked that.
      return m.ch === input.channel;
    case 'category':
      return m.cat === input.category;
  }
}

/** Rolling window of a rule: its windowMs, 24 h when it sets neither window, none when only localDays. */
function rollingMs(rule: CapRule): number | undefined {
  return rule.windowMs ?? (rule.localDays === undefined ? DAY : undefined);
}

interface Context {
  input: CapCheckInput;
  /** The rules that limit this message: computed once, reused for every candidate instant. */
  rules: CapRule[];
  /** Pending sends treated as gone (allowsWithout). */
  removed: ReadonlySet<string> | undefined;
  /** User-local day of each sent / pending mark, when a local-day rule applies. */
  sentDays: number[] | undefined;
  pendingDays: number[] | undefined;
}

function context(input: CapCheckInput, removed: ReadonlySet<string> | undefined): Context {
  const rules: CapRule[] = [];
  let localDays = false;
  for (const rule of input.caps) {
    if (!ruleApplies(rule, input)) continue;
    rules.push(rule);
    if (rule.localDays !== undefined) localDays = true;
  }
  // One localTime per mark per check, not per mark per rule per candidate instant.
  const dayOf = (m: SendMark): number => localTime(m.t, input.timeZone).day;
  return {
    input,
    rules,
    removed,
    sentDays: localDays ? input.sent.map(dayOf) : undefined,
    pendingDays: localDays ? input.pending.map(dayOf) : undefined,
  };
}

/** Filled only when the caller wants to know why (checkCaps at `at`), never while searching. */
interface Collector {
  reasons: Reason[];
  /** blocked[i]: pending[i] is counted in a violated rule or the gap. */
  blocked: boolean[];
}

/** Whether a non-transactional mark is less than minGapMs from `t`; with `out`, flags every such pending send. */
function gapViolated(c: Context, t: number, out: Collector | undefined): boolean {
  const gap = c.input.minGapMs;
  if (!(gap > 0)) return false;
  let hit = false;
  for (const m of c.input.sent) {
    if (m.k !== 'transactional' && Math.abs(m.t - t) < gap) {
      hit = true;
      break;
    }
  }
  if (hit && out === undefined) return true;
  const pending = c.input.pending;
  for (let i = 0; i < pending.length; i++) {
    const m = pending[i] as PendingSend;
    if (m.k === 'transactional' || c.removed?.has(m.decisionId) === true || Math.abs(m.t - t) >= gap) continue;
    hit = true;
    if (out === undefined) break;
    out.blocked[i] = true;
  }
  return hit;
}

/** True when a new message at `t` passes every rule and the gap. With `out`, records every violation instead of stopping at the first. */
function passes(c: Context, t: number, out: Collector | undefined): boolean {
  const { input, removed, sentDays, pendingDays } = c;
  const { sent, pending } = input;
  // Yes/no only (allowsWithout, the allowedFrom search): the gap is the cheapest test, first.
  if (out === undefined && gapViolated(c, t, undefined)) return false;
  let ok = true;
  let tDay = 0;
  if (sentDays !== undefined) tDay = localTime(t, input.timeZone).day;
  for (const rule of c.rules) {
    const rolling = rollingMs(rule);
    const nDays = rule.localDays;
    let inRolling = 0;
    let inDays = 0;
    for (let i = 0; i < sent.length; i++) {
      const m = sent[i] as SendMark;
      if (!counts(rule, m, input)) continue;
      if (rolling !== undefined && Math.abs(m.t - t) < rolling) inRolling++;
      if (nDays !== undefined && Math.abs((sentDays?.[i] ?? 0) - tDay) < nDays) inDays++;
    }
    for (let i = 0; i < pending.length; i++) {
      const m = pending[i] as PendingSend;
      if (removed?.has(m.decisionId) === true || !counts(rule, m, input)) continue;
      if (rolling !== undefined && Math.abs(m.t - t) < rolling) inRolling++;
      if (nDays !== undefined && Math.abs((pendingDays?.[i] ?? 0) - tDay) < nDays) inDays++;
    }
    // "Exactly one of windowMs/localDays; if both, apply both": each window is a limit of its own.
    const rollingHit = rolling !== undefined && inRolling >= rule.max;
    const daysHit = nDays !== undefined && inDays >= rule.max;
    if (!rollingHit && !daysHit) continue;
    if (out === undefined) return false;
    ok = false;
    const reason = SCOPE_REASON[rule.scope];
    if (!out.reasons.includes(reason)) out.reasons.push(reason);
    for (let i = 0; i < pending.length; i++) {
      const m = pending[i] as PendingSend;
      if (removed?.has(m.decisionId) === true || !counts(rule, m, input)) continue;
      if ((rollingHit && Math.abs(m.t - t) < (rolling as number)) || (daysHit && Math.abs((pendingDays?.[i] ?? 0) - tDay) < (nDays as number))) {
        out.blocked[i] = true;
      }
    }
  }
  if (out !== undefined && gapViolated(c, t, out)) {
    ok = false;
    out.reasons.push('min_gap');
  }
  return ok;
}

/**
 * The earliest instant > at at which the message passes. A violation can only end where a
 * mark stops counting: m.t + windowMs (rolling), local midnight of day(m) + localDays, or
 * m.t + minGapMs; moving later otherwise only brings future pending marks closer. So the
 * first of those instants that passes is the answer, and there is none if none passes.
 */
function earliestPass(c: Context): number | undefined {
  const { input } = c;
  const at = input.at;
  const candidates: number[] = [];
  // Local midnights by day number: marks share days, and instantOf is the costly part.
  const midnights = new Map<number, number>();
  const midnight = (day: number): number => {
    let t = midnights.get(day);
    if (t === undefined) {
      t = instantOf(day, 0, input.timeZone);
      midnights.set(day, t);
    }
    return t;
  };
  const add = (m: SendMark, day: number | undefined): void => {
    if (input.minGapMs > 0 && m.k !== 'transactional') candidates.push(m.t + input.minGapMs);
    for (const rule of c.rules) {
      if (!counts(rule, m, input)) continue;
      const rolling = rollingMs(rule);
      if (rolling !== undefined) candidates.push(m.t + rolling);
      if (rule.localDays !== undefined && day !== undefined) candidates.push(midnight(day + rule.localDays));
    }
  };
  input.sent.forEach((m, i) => add(m, c.sentDays?.[i]));
  input.pending.forEach((m, i) => add(m, c.pendingDays?.[i]));
  candidates.sort((a, b) => a - b);
  let previous = at;
  for (const t of candidates) {
    if (t <= previous) continue;
    previous = t;
    if (passes(c, t, undefined)) return t;
  }
  return undefined;
}

/**
 * Whether one more message of (channel, kind, category) at `input.at` respects every cap rule
 * and the minimum gap; if not, why, which pending sends stand in the way (preempting some
 * of them might free the slot) and from when it would pass.
 */
export function checkCaps(input: CapCheckInput): CapCheckResult {
  if (input.kind === 'transactional') return { reasons: [], blockers: [] };
  const c = context(input, undefined);
  const out: Collector = { reasons: [], blocked: [] };
  if (passes(c, input.at, out)) return { reasons: [], blockers: [] };
  const blockers: PendingSend[] = [];
  for (let i = 0; i < input.pending.length; i++) if (out.blocked[i] === true) blockers.push(input.pending[i] as PendingSend);
  const allowedFrom = earliestPass(c);
  return allowedFrom === undefined ? { reasons: out.reasons, blockers } : { reasons: out.reasons, blockers, allowedFrom };
}

/** Whether the message would pass with the pending sends whose decisionId is in `removed` gone (preempted). */
export function allowsWithout(input: CapCheckInput, removed: ReadonlySet<string>): boolean {
  if (input.kind === 'transactional') return true;
  return passes(context(input, removed), input.at, undefined);
}

/** `sent` without the marks older than now − historyMs, order kept; the same array when none is. */
export function pruneSent(sent: SendMark[], now: number, historyMs: number): SendMark[] {
  const cutoff = now - historyMs;
  let keep = 0;
  for (const m of sent) if (m.t >= cutoff) keep++;
  if (keep === sent.length) return sent;
  const out: SendMark[] = [];
  for (const m of sent) if (m.t >= cutoff) out.push(m);
  return out;
}
