import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CapRule } from '../config/rules-schema.js';
import { allowsWithout, checkCaps, pruneSent, type CapCheckInput } from '../operators/decisions/caps.js';
import type { Channel, Kind, PendingSend, SendMark } from '../operators/decisions/types.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const KOLKATA = 'Asia/Kolkata';

/** Date.UTC with a 1-based month, so the instants below read like the dates in the comments. */
function utc(year: number, month: number, day: number, hour = 0, minute = 0): number {
  return Date.UTC(year, month - 1, day, hour, minute);
}

function mark(t: number, ch: Channel = 'sms', k: Kind = 'promotional', cat?: number): SendMark {
  return cat === undefined ? { t, ch, k } : { t, ch, k, cat };
}

function pending(decisionId: string, t: number, ch: Channel = 'sms', k: Kind = 'promotional', cat?: number): PendingSend {
  return { ...mark(t, ch, k, cat), decisionId, campaignId: `c-${decisionId}`, ev: 1, priority: 0 };
}

const PROMO = ['promotional', 'reminder'] as CapRule['kinds'];
const perLocalDay: CapRule = { name: 'promo-per-local-day', scope: 'global', kinds: PROMO, max: 3, localDays: 1 };

/** A promotional SMS for a user in India at `at`, no gap unless asked: each test sets what it exercises. */
function input(at: number, over: Partial<CapCheckInput> = {}): CapCheckInput {
  return { at, channel: 'sms', kind: 'promotional', timeZone: KOLKATA, sent: [], pending: [], caps: [perLocalDay], minGapMs: 0, ...over };
}

const ids = (blockers: readonly PendingSend[]): string[] => blockers.map((b) => b.decisionId);

test('caps: 3 per local day counts the user-local day, not UTC and not a rolling 24 h', () => {
  // 2026-03-10 20:00 IST = 14:30 UTC; sent at 10:30, 12:00 and 15:00 IST the same day.
  const at = utc(2026, 3, 10, 14, 30);
  const today = [mark(utc(2026, 3, 10, 5, 0)), mark(utc(2026, 3, 10, 6, 30)), mark(utc(2026, 3, 10, 9, 30))];
  const capped = checkCaps(input(at, { sent: today }));
  assert.deepEqual(capped.reasons, ['cap_global']);
  assert.deepEqual(capped.blockers, []);
  // Free again at the user's next midnight, 03-11 00:00 IST = 03-10 18:30 UTC.
  assert.equal(capped.allowedFrom, utc(2026, 3, 10, 18, 30));
  // Two of three is under the cap (violated only when count ≥ max).
  assert.deepEqual(checkCaps(input(at, { sent: today.slice(1) })).reasons, []);

  // Now at 03-10 00:30 IST = 03-09 19:00 UTC, with three sends on 03-09 IST at 20:00, 21:00 and
  // 23:00 IST (14:30, 15:30, 17:30 UTC): within 5 h, and on the same UTC day as `at`, but on the
  // user's previous local day, so the local-day cap does not count them.
  const justAfterMidnight = utc(2026, 3, 9, 19, 0);
  const yesterday = [mark(utc(2026, 3, 9, 14, 30)), mark(utc(2026, 3, 9, 15, 30)), mark(utc(2026, 3, 9, 17, 30))];
  assert.deepEqual(checkCaps(input(justAfterMidnight, { sent: yesterday })), { reasons: [], blockers: [] });
  // The same marks under a rolling 24 h cap are all counted: the difference is the local day.
  const rolling24: CapRule = { name: 'rolling', scope: 'global', kinds: PROMO, max: 3, windowMs: DAY };
  assert.deepEqual(checkCaps(input(justAfterMidnight, { sent: yesterday, caps: [rolling24] })).reasons, ['cap_global']);
});

test("caps: the day boundary is midnight in the user's zone", () => {
  // Sent 03-10 00:30, 01:00, 01:30 IST = 03-09 19:00, 19:30, 20:00 UTC. At 03-10 09:00 IST =
  // 03:30 UTC: a different UTC day from the sends, the same local day → capped.
  const earlyLocal = [mark(utc(2026, 3, 9, 19, 0)), mark(utc(2026, 3, 9, 19, 30)), mark(utc(2026, 3, 9, 20, 0))];
  assert.deepEqual(checkCaps(input(utc(2026, 3, 10, 3, 30), { sent: earlyLocal })).reasons, ['cap_global']);
  // Sent 10:00, 11:00, 12:00 IST on 03-10 (04:30, 05:30, 06:30 UTC).
  const morning = [mark(utc(2026, 3, 10, 4, 30)), mark(utc(2026, 3, 10, 5, 30)), mark(utc(2026, 3, 10, 6, 30))];
  // 23:59 IST = 18:29 UTC is still 03-10 locally → capped; 00:00 IST = 18:30 UTC is 03-11 → free,
  // though both are 03-10 in UTC.
  assert.deepEqual(checkCaps(input(utc(2026, 3, 10, 18, 29), { sent: morning })).reasons, ['cap_global']);
  assert.deepEqual(checkCaps(input(utc(2026, 3, 10, 18, 30), { sent: morning })).reasons, []);
});

test('caps: localDays n spans n days either side of the local day', () => {
  // localDays 2: yesterday, today and tomorrow (local) count; two days ago does not.
  const twoDays: CapRule = { name: '2d', scope: 'global', kinds: PROMO, max: 1, localDays: 2 };
  const at = utc(2026, 3, 10, 6, 30); // 03-10 12:00 IST
  assert.deepEqual(checkCaps(input(at, { caps: [twoDays], sent: [mark(utc(2026, 3, 8, 19, 0))] })).reasons, ['cap_global']); // 03-09 00:30 IST
  assert.deepEqual(checkCaps(input(at, { caps: [twoDays], sent: [mark(utc(2026, 3, 8, 18, 0))] })).reasons, []); // 03-08 23:30 IST
  // A pending send on 03-11 23:00 IST (17:30 UTC) holds tomorrow's slot, within 2 local days.
  assert.deepEqual(checkCaps(input(at, { caps: [twoDays], pending: [pending('p', utc(2026, 3, 11, 17, 30))] })).reasons, ['cap_global']);
});

test('caps: rolling 7-day window', () => {
  const weekly: CapRule = { name: 'promo-per-week', scope: 'global', kinds: PROMO, max: 2, windowMs: 7 * DAY };
  const at = utc(2026, 3, 10, 12, 0);
  // 6 d 23 h and 1 d before: both inside the week → capped, until the older one is 7 days old.
  const inside = [mark(at - 6 * DAY - 23 * HOUR), mark(at - DAY)];
  const capped = checkCaps(input(at, { caps: [weekly], sent: inside }));
  assert.deepEqual(capped.reasons, ['cap_global']);
  assert.equal(capped.allowedFrom, at + HOUR);
  // Exactly 7 days old no longer counts (|Δ| < windowMs): one left, under the cap.
  assert.deepEqual(checkCaps(input(at, { caps: [weekly], sent: [mark(at - 7 * DAY), mark(at - DAY)] })).reasons, []);
  // Conservatively, a pending send 6 days ahead is in a week containing `at` too.
  const ahead = checkCaps(input(at, { caps: [weekly], sent: [mark(at - DAY)], pending: [pending('p', at + 6 * DAY)] }));
  assert.deepEqual(ahead.reasons, ['cap_global']);
  assert.deepEqual(ids(ahead.blockers), ['p']);
});

test('caps: a rule with neither window is a rolling 24 h; with both, each is a limit', () => {
  const noWindow: CapRule = { name: 'none', scope: 'global', kinds: PROMO, max: 1 };
  const at = utc(2026, 3, 10, 12, 0);
  assert.deepEqual(checkCaps(input(at, { caps: [noWindow], sent: [mark(at - 23 * HOUR)] })).reasons, ['cap_global']);
  assert.deepEqual(checkCaps(input(at, { caps: [noWindow], sent: [mark(at - 24 * HOUR)] })).reasons, []);
  const both: CapRule = { name: 'both', scope: 'global', kinds: PROMO, max: 1, windowMs: HOUR, localDays: 1 };
  // 03-11 00:10 IST = 03-10 18:40 UTC; a send 30 min earlier is the previous local day but
  // inside the hour → capped by the rolling part.
  const night = utc(2026, 3, 10, 18, 40);
  assert.deepEqual(checkCaps(input(night, { caps: [both], sent: [mark(night - 30 * MINUTE)] })).reasons, ['cap_global']);
  // 5 h earlier the same local day (03-10 12:00 IST) → capped by the local-day part.
  assert.deepEqual(checkCaps(input(at + 5 * HOUR, { caps: [both], sent: [mark(at)] })).reasons, ['cap_global']);
  // Previous local day and more than an hour ago → neither.
  assert.deepEqual(checkCaps(input(night, { caps: [both], sent: [mark(night - 2 * HOUR)] })).reasons, []);
});

test('caps: a channel-scoped cap limits and counts only its channel', () => {
  const smsDaily: CapRule = { name: 'sms-per-local-day', scope: 'channel', channel: 'sms', kinds: PROMO, max: 1, localDays: 1 };
  const at = utc(2026, 3, 10, 12, 0);
  const smsToday = [mark(at - 2 * HOUR, 'sms')];
  assert.deepEqual(checkCaps(input(at, { caps: [smsDaily], sent: smsToday })).reasons, ['cap_channel']);
  // A push is not limited by the SMS cap, not even after another push today.
  assert.deepEqual(checkCaps(input(at, { caps: [smsDaily], sent: smsToday, channel: 'push' })).reasons, []);
  assert.deepEqual(checkCaps(input(at, { caps: [smsDaily], sent: [mark(at - 2 * HOUR, 'push')], channel: 'push' })).reasons, []);
  // A push sent today does not use up the SMS cap.
  assert.deepEqual(checkCaps(input(at, { caps: [smsDaily], sent: [mark(at - 2 * HOUR, 'push')] })).reasons, []);
  // Without `channel` the rule applies to each channel separately: a push today caps push, not SMS.
  const perChannel: CapRule = { name: 'per-channel', scope: 'channel', kinds: PROMO, max: 1, localDays: 1 };
  const pushToday = [mark(at - 2 * HOUR, 'push')];
  assert.deepEqual(checkCaps(input(at, { caps: [perChannel], sent: pushToday, channel: 'push' })).reasons, ['cap_channel']);
  assert.deepEqual(checkCaps(input(at, { caps: [perChannel], sent: pushToday, channel: 'sms' })).reasons, []);
});

test('caps: a category cap counts only the same category', () => {
  const perCategory: CapRule = { name: 'per-category', scope: 'category', kinds: ['promotional'], max: 1, localDays: 1 };
  const at = utc(2026, 3, 10, 12, 0);
  const cat3Today = [mark(at - 2 * HOUR, 'sms', 'promotional', 3)];
  assert.deepEqual(checkCaps(input(at, { caps: [perCategory], sent: cat3Today, category: 3 })).reasons, ['cap_category']);
  assert.deepEqual(checkCaps(input(at, { caps: [perCategory], sent: cat3Today, category: 4 })).reasons, []);
  // A message with no category is in no category, even after other uncategorised messages.
  assert.deepEqual(checkCaps(input(at, { caps: [perCategory], sent: cat3Today })).reasons, []);
  assert.deepEqual(checkCaps(input(at, { caps: [perCategory], sent: [mark(at - 2 * HOUR)] })).reasons, []);
  // With `category` set, the rule is about that category only.
  const onlyThree: CapRule = { ...perCategory, category: 3 };
  assert.deepEqual(checkCaps(input(at, { caps: [onlyThree], sent: cat3Today, category: 3 })).reasons, ['cap_category']);
  const cat4Today = [mark(at - 2 * HOUR, 'sms', 'promotional', 4)];
  assert.deepEqual(checkCaps(input(at, { caps: [onlyThree], sent: cat4Today, category: 4 })).reasons, []);
});

test('caps: a rule counts and limits only its kinds', () => {
  const promoOnly: CapRule = { name: 'promo', scope: 'global', kinds: ['promotional'], max: 1, localDays: 1 };
  const at = utc(2026, 3, 10, 12, 0);
  // A reminder sent today does not count against a promotional-only cap…
  assert.deepEqual(checkCaps(input(at, { caps: [promoOnly], sent: [mark(at - HOUR, 'sms', 'reminder')] })).reasons, []);
  // …and a new reminder is not limited by it, even with a promotional sent today.
  assert.deepEqual(checkCaps(input(at, { caps: [promoOnly], sent: [mark(at - HOUR)], kind: 'reminder' })).reasons, []);
  assert.deepEqual(checkCaps(input(at, { caps: [promoOnly], sent: [mark(at - HOUR)] })).reasons, ['cap_global']);
});

test('caps: transactional bypasses every cap and the gap, and does not count', () => {
  const at = utc(2026, 3, 10, 12, 0);
  const zero: CapRule = { name: 'zero', scope: 'global', kinds: ['promotional', 'transactional'], max: 0 };
  const busy = [mark(at - 3 * HOUR), mark(at - 2 * HOUR), mark(at - MINUTE)];
  const everything = input(at, { sent: busy, pending: [pending('p', at + MINUTE)], caps: [perLocalDay, zero], minGapMs: 2 * HOUR });
  // The same input refuses a promotional message (so the bypass below is the kind, not the input)…
  assert.deepEqual(checkCaps(everything).reasons, ['cap_global', 'min_gap']);
  // …and lets an OTP through.
  assert.deepEqual(checkCaps({ ...everything, kind: 'transactional' }), { reasons: [], blockers: [] });
  assert.equal(allowsWithout({ ...everything, kind: 'transactional' }, new Set()), true);
  // Five OTPs today, the last a minute ago: a promotional message is neither capped nor gapped,
  // even by a rule that lists transactional among its kinds.
  const otps = [1, 2, 3, 4].map((h) => mark(at - h * HOUR, 'sms', 'transactional')).concat([mark(at - MINUTE, 'sms', 'transactional')]);
  const capsWithOtp: CapRule = { name: 'all', scope: 'global', kinds: ['promotional', 'transactional'], max: 1, localDays: 1 };
  assert.deepEqual(checkCaps(input(at, { sent: otps, caps: [perLocalDay, capsWithOtp], minGapMs: 2 * HOUR })), { reasons: [], blockers: [] });
});

test('caps: pending sends hold slots; blockers are the pending ones in the violated rule; allowsWithout', () => {
  // At 03-10 14:00 IST = 08:30 UTC. Sent 10:00 IST; pending 18:00 and 19:00 IST today, and
  // 11:00 IST tomorrow (another local day, not counted by the daily cap).
  const at = utc(2026, 3, 10, 8, 30);
  const sent = [mark(utc(2026, 3, 10, 4, 30))];
  const p1 = pending('p1', utc(2026, 3, 10, 12, 30));
  const p2 = pending('p2', utc(2026, 3, 10, 13, 30));
  const p3 = pending('p3', utc(2026, 3, 11, 5, 30));
  const query = input(at, { sent, pending: [p1, p2, p3] });
  const result = checkCaps(query);
  // One sent + two pending today = 3 = max.
  assert.deepEqual(result.reasons, ['cap_global']);
  // Only the pending sends counted in the violated rule: not the sent one, not tomorrow's.
  assert.deepEqual(ids(result.blockers), ['p1', 'p2']);
  // Preempting p1 frees the slot; removing p3 (not counted) or nothing does not.
  assert.equal(allowsWithout(query, new Set(['p1'])), true);
  assert.equal(allowsWithout(query, new Set(['p3'])), false);
  assert.equal(allowsWithout(query, new Set()), false);
  // Without the pending ones the same sent history is fine: pending is what caps it.
  assert.deepEqual(checkCaps({ ...query, pending: [] }).reasons, []);
  // When sent marks alone fill the cap, no pending send blocks and none can be preempted to help.
  const full = input(at, { sent: [mark(utc(2026, 3, 10, 4, 30)), mark(utc(2026, 3, 10, 5, 30)), mark(utc(2026, 3, 10, 6, 30))], pending: [p3] });
  const fullResult = checkCaps(full);
  assert.deepEqual(fullResult.reasons, ['cap_global']);
  assert.deepEqual(fullResult.blockers, []);
  assert.equal(allowsWithout(full, new Set(['p3'])), false);
});

test('caps: blockers are deduplicated across rules and the gap', () => {
  const at = utc(2026, 3, 10, 8, 30);
  const p = pending('p', at + HOUR);
  const smsDaily: CapRule = { name: 'sms', scope: 'channel', channel: 'sms', kinds: PROMO, max: 1, localDays: 1 };
  const globalDaily: CapRule = { name: 'global', scope: 'global', kinds: PROMO, max: 1, localDays: 1 };
  const result = checkCaps(input(at, { pending: [p], caps: [globalDaily, smsDaily], minGapMs: 2 * HOUR }));
  // p is counted in both rules and is within the gap: listed once.
  assert.deepEqual(result.reasons, ['cap_global', 'cap_channel', 'min_gap']);
  assert.deepEqual(ids(result.blockers), ['p']);
  assert.equal(allowsWithout(input(at, { pending: [p], caps: [globalDaily, smsDaily], minGapMs: 2 * HOUR }), new Set(['p'])), true);
});

test('caps: minimum gap, with allowedFrom after a mark before and around pending marks after', () => {
  const gap = 2 * HOUR;
  const at = utc(2026, 3, 10, 8, 30);
  const noCaps = { caps: [], minGapMs: gap };
  // Sent 30 min ago: gapped until 2 h after it.
  const before = checkCaps(input(at, { ...noCaps, sent: [mark(at - 30 * MINUTE, 'push')] }));
  assert.deepEqual(before.reasons, ['min_gap']);
  assert.equal(before.allowedFrom, at + 90 * MINUTE);
  assert.deepEqual(before.blockers, []);
  // Exactly 2 h apart is fine (the gap is |Δ| < minGapMs).
  assert.deepEqual(checkCaps(input(at, { ...noCaps, sent: [mark(at - gap)] })).reasons, []);
  // Sent 1 h ago and pending in 5 h: the gap opens at +1 h and there is room before the pending
  // one (it needs t ≤ +3 h).
  const room = checkCaps(input(at, { ...noCaps, sent: [mark(at - HOUR)], pending: [pending('far', at + 5 * HOUR)] }));
  assert.deepEqual(room.reasons, ['min_gap']);
  assert.equal(room.allowedFrom, at + HOUR);
  assert.deepEqual(room.blockers, []);
  // Pending in 1 h conflicts; nothing fits before it (t ≥ at), so 2 h after it: +3 h. It blocks.
  const after = checkCaps(input(at, { ...noCaps, sent: [mark(at - 4 * HOUR)], pending: [pending('soon', at + HOUR)] }));
  assert.deepEqual(after.reasons, ['min_gap']);
  assert.equal(after.allowedFrom, at + 3 * HOUR);
  assert.deepEqual(ids(after.blockers), ['soon']);
  // Pending at +1 h and +6 h: +3 h fits between them (≥ 2 h from both).
  const between = checkCaps(input(at, { ...noCaps, pending: [pending('a', at + HOUR), pending('b', at + 6 * HOUR)] }));
  assert.equal(between.allowedFrom, at + 3 * HOUR);
  assert.deepEqual(ids(between.blockers), ['a']);
  // Pending at +1 h and +4 h: no 2 h room between them, so after the last: +6 h.
  const squeezed = checkCaps(input(at, { ...noCaps, pending: [pending('a', at + HOUR), pending('b', at + 4 * HOUR)] }));
  assert.equal(squeezed.allowedFrom, at + 6 * HOUR);
  // A transactional message a minute ago does not gap anything.
  assert.deepEqual(checkCaps(input(at, { ...noCaps, sent: [mark(at - MINUTE, 'sms', 'transactional')] })).reasons, []);
});

test('caps: several rules are ANDed and every violated one is named', () => {
  const globalDaily: CapRule = { name: 'promo-per-local-day', scope: 'global', kinds: PROMO, max: 3, localDays: 1 };
  const smsDaily: CapRule = { name: 'sms-per-local-day', scope: 'channel', channel: 'sms', kinds: PROMO, max: 2, localDays: 1 };
  const caps = [globalDaily, smsDaily];
  const at = utc(2026, 3, 10, 12, 0);
  const twoSms = [mark(at - 3 * HOUR), mark(at - 2 * HOUR)];
  const threeSms = [mark(at - 4 * HOUR), ...twoSms];
  // Two SMS: the SMS cap alone refuses another SMS, and nothing refuses a push.
  assert.deepEqual(checkCaps(input(at, { caps, sent: twoSms })).reasons, ['cap_channel']);
  assert.deepEqual(checkCaps(input(at, { caps, sent: twoSms, channel: 'push' })).reasons, []);
  // Three SMS: both rules refuse an SMS; the global one refuses a push too.
  assert.deepEqual(checkCaps(input(at, { caps, sent: threeSms })).reasons, ['cap_global', 'cap_channel']);
  assert.deepEqual(checkCaps(input(at, { caps, sent: threeSms, channel: 'push' })).reasons, ['cap_global']);
  // And the gap on top: 30 min before `at` is only 90 min after the last SMS (at − 2 h).
  assert.deepEqual(checkCaps(input(at - 30 * MINUTE, { caps, sent: twoSms, minGapMs: 2 * HOUR })).reasons, ['cap_channel', 'min_gap']);
});

test('caps: pruneSent drops only marks older than the history, keeping order and identity', () => {
  const now = utc(2026, 3, 10, 12, 0);
  const history = 8 * DAY;
  const recent = [mark(now - 2 * DAY), mark(now - DAY), mark(now)];
  // Nothing to drop: the very same array (no copy on the hot path), also when a mark is
  // exactly history old (that one is kept).
  assert.equal(pruneSent(recent, now, history), recent);
  const atEdge = [mark(now - history), ...recent];
  assert.equal(pruneSent(atEdge, now, history), atEdge);
  // Exactly history old is kept; a millisecond older is dropped; order preserved.
  const edge = mark(now - history);
  const old = mark(now - history - 1);
  const mixed = [old, edge, ...recent];
  const pruned = pruneSent(mixed, now, history);
  assert.notEqual(pruned, mixed);
  assert.deepEqual(pruned, [edge, ...recent]);
  assert.equal(mixed.length, 5, 'the input is not modified');
});
