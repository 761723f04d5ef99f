import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_COUNTRIES } from '../config/default-countries.js';
import type { CountryRules, HoursRule } from '../config/rules-schema.js';
import { checkLegalHours, checkQuietHours, isAllowed, nextAllowed } from '../operators/decisions/hours.js';
import { localTime } from '../operators/decisions/local-time.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const EVERY_DAY = [1, 2, 3, 4, 5, 6, 7];

/** Date.UTC with a 1-based month, so the instants below read like the dates in the comments. */
function utc(year: number, month: number, day: number, hour = 0, minute = 0): number {
  return Date.UTC(year, month - 1, day, hour, minute);
}

function country(code: string): CountryRules {
  const rules = DEFAULT_COUNTRIES[code];
  if (rules === undefined) throw new Error(`no shipped rules for ${code}`);
  return rules;
}

/** A country whose only legal rule is `rule` (the rest copied from the shipped default). */
function withRule(rule: HoursRule): CountryRules {
  return { ...country('default'), legalHours: [rule] };
}

const IN = country('IN');
const US = country('US');
const BR = country('BR');

/** Refused for legal hours, allowed from exactly `from`; isAllowed must agree at both instants. */
function refusedUntil(at: number, from: number, rules: CountryRules, timeZone: string, channel: 'sms' | 'push' = 'sms'): void {
  assert.deepEqual(checkLegalHours(at, channel, 'promotional', timeZone, rules), { reasons: ['legal_hours'], allowedFrom: from });
  assert.equal(isAllowed(at, channel, 'promotional', timeZone, rules, null), false);
  assert.equal(isAllowed(from, channel, 'promotional', timeZone, rules, null), true);
  // allowedFrom is the earliest allowed instant: a millisecond earlier is still refused.
  assert.equal(isAllowed(from - 1, channel, 'promotional', timeZone, rules, null), false);
}

function allowed(at: number, rules: CountryRules, timeZone: string, channel: 'sms' | 'push' = 'sms'): void {
  assert.deepEqual(checkLegalHours(at, channel, 'promotional', timeZone, rules), { reasons: [] });
  assert.equal(isAllowed(at, channel, 'promotional', timeZone, rules, null), true);
}

function quietUntil(at: number, from: number, timeZone: string, quiet: { start: string; end: string }): void {
  assert.deepEqual(checkQuietHours(at, 'promotional', timeZone, quiet), { reasons: ['quiet_hours'], allowedFrom: from });
  assert.equal(isAllowed(at, 'push', 'promotional', timeZone, US, quiet), false);
  assert.equal(isAllowed(from, 'push', 'promotional', timeZone, US, quiet), true);
}

function notQuiet(at: number, timeZone: string, quiet: { start: string; end: string }): void {
  assert.deepEqual(checkQuietHours(at, 'promotional', timeZone, quiet), { reasons: [] });
  // US rules restrict SMS only, so for push isAllowed is quiet hours alone.
  assert.equal(isAllowed(at, 'push', 'promotional', timeZone, US, quiet), true);
}

test('hours: India +05:30, promotional SMS 10:00–21:00 IST', () => {
  const tz = 'Asia/Kolkata';
  // 2026-03-10 09:59 IST = 04:29 UTC: a minute early, allowed from 10:00 IST = 04:30 UTC.
  refusedUntil(utc(2026, 3, 10, 4, 29), utc(2026, 3, 10, 4, 30), IN, tz);
  // 10:00 IST opens the window (start inclusive).
  allowed(utc(2026, 3, 10, 4, 30), IN, tz);
  // 20:59 IST = 15:29 UTC: the last allowed minute.
  allowed(utc(2026, 3, 10, 15, 29), IN, tz);
  // 21:00 IST = 15:30 UTC closes it (end exclusive): next is 2026-03-11 10:00 IST = 04:30 UTC.
  refusedUntil(utc(2026, 3, 10, 15, 30), utc(2026, 3, 11, 4, 30), IN, tz);
  // 23:00 IST = 17:30 UTC: promotional refused, but a transactional OTP is not restricted,
  // nor is service (the rule lists neither kind).
  const late = utc(2026, 3, 10, 17, 30);
  assert.deepEqual(checkLegalHours(late, 'sms', 'promotional', tz, IN).reasons, ['legal_hours']);
  assert.deepEqual(checkLegalHours(late, 'sms', 'transactional', tz, IN), { reasons: [] });
  assert.equal(isAllowed(late, 'sms', 'transactional', tz, IN, null), true);
  assert.deepEqual(checkLegalHours(late, 'sms', 'service', tz, IN), { reasons: [] });
  // The IN rule is for SMS: a promotional push at 23:00 IST is not restricted by it.
  allowed(late, IN, tz, 'push');
});

test('hours: Nepal +05:45 custom window lands on :45 UTC offsets', () => {
  const tz = 'Asia/Kathmandu';
  const rules = withRule({ channels: ['sms', 'push'], kinds: ['promotional'], windows: [{ days: EVERY_DAY, start: '09:00', end: '20:00' }] });
  // 09:00 NPT = 03:15 UTC (an IST-like +05:30 would say 03:30, a whole-hour zone 03:00 or 04:00).
  refusedUntil(utc(2026, 3, 10, 3, 14), utc(2026, 3, 10, 3, 15), rules, tz);
  allowed(utc(2026, 3, 10, 3, 15), rules, tz, 'push');
  // 19:59 NPT = 14:14 UTC allowed; 20:00 NPT = 14:15 UTC refused until 09:00 NPT next day.
  allowed(utc(2026, 3, 10, 14, 14), rules, tz);
  refusedUntil(utc(2026, 3, 10, 14, 15), utc(2026, 3, 11, 3, 15), rules, tz);
});

test('hours: New York 08:00–21:00 is wall-clock time on both sides of spring-forward (2026-03-08)', () => {
  const tz = 'America/New_York';
  // Saturday 03-07 is EST (−5): 07:59 EST = 12:59 UTC, opens 08:00 EST = 13:00 UTC.
  refusedUntil(utc(2026, 3, 7, 12, 59), utc(2026, 3, 7, 13, 0), US, tz);
  // Saturday 21:00 EST = 03-08 02:00 UTC. Clocks jump 02:00 EST → 03:00 EDT at 07:00 UTC, so
  // Sunday 08:00 EDT = 12:00 UTC: 10 real hours later, not the 11 a fixed offset would give.
  refusedUntil(utc(2026, 3, 8, 2, 0), utc(2026, 3, 8, 12, 0), US, tz);
  // Sunday is EDT (−4): 07:59 EDT = 11:59 UTC refused, 08:00 EDT = 12:00 UTC allowed.
  refusedUntil(utc(2026, 3, 8, 11, 59), utc(2026, 3, 8, 12, 0), US, tz);
  allowed(utc(2026, 3, 8, 12, 0), US, tz);
  // 20:59 EDT = 03-09 00:59 UTC allowed; 21:00 EDT = 01:00 UTC refused until Monday 08:00 EDT.
  allowed(utc(2026, 3, 9, 0, 59), US, tz);
  refusedUntil(utc(2026, 3, 9, 1, 0), utc(2026, 3, 9, 12, 0), US, tz);
});

test('hours: New York 08:00–21:00 is wall-clock time on both sides of fall-back (2026-11-01)', () => {
  const tz = 'America/New_York';
  // Saturday 10-31 21:00 EDT = 11-01 01:00 UTC. Clocks fall back 02:00 EDT → 01:00 EST at
  // 06:00 UTC, so Sunday 08:00 EST = 13:00 UTC: 12 real hours later.
  refusedUntil(utc(2026, 11, 1, 1, 0), utc(2026, 11, 1, 13, 0), US, tz);
  // Sunday is EST (−5): 07:59 EST = 12:59 UTC refused; 08:00 EST = 13:00 UTC allowed.
  refusedUntil(utc(2026, 11, 1, 12, 59), utc(2026, 11, 1, 13, 0), US, tz);
  allowed(utc(2026, 11, 1, 13, 0), US, tz);
  // 20:59 EST = 11-02 01:59 UTC allowed; 21:00 EST = 02:00 UTC refused until Monday 08:00 EST.
  allowed(utc(2026, 11, 2, 1, 59), US, tz);
  refusedUntil(utc(2026, 11, 2, 2, 0), utc(2026, 11, 2, 13, 0), US, tz);
});

test('hours: New York sweep across both DST weeks agrees with the wall clock, and allowedFrom is always the first allowed instant', () => {
  const tz = 'America/New_York';
  // Every 10 minutes of the days around each change (the slow, instant-based path) and of a
  // quiet week in July (the fast, minute-of-day path): membership must be local 08:00–21:00.
  const ranges: Array<[number, number]> = [
    [utc(2026, 3, 5), utc(2026, 3, 12)],
    [utc(2026, 10, 29), utc(2026, 11, 5)],
    [utc(2026, 7, 13), utc(2026, 7, 16)],
  ];
  for (const [from, to] of ranges) {
    for (let t = from; t < to; t += 10 * MINUTE) {
      const minute = localTime(t, tz).minuteOfDay;
      const expected = minute >= 8 * 60 && minute < 21 * 60;
      assert.equal(isAllowed(t, 'sms', 'promotional', tz, US, null), expected, `isAllowed at ${new Date(t).toISOString()}`);
      const result = checkLegalHours(t, 'sms', 'promotional', tz, US);
      assert.equal(result.reasons.length === 0, expected, `checkLegalHours at ${new Date(t).toISOString()}`);
      if (!expected) {
        const open = result.allowedFrom;
        assert.ok(open !== undefined && open > t);
        // Opens at local 08:00 exactly, and nothing in between is allowed.
        assert.equal(localTime(open, tz).minuteOfDay, 8 * 60);
        assert.equal(isAllowed(open - 1, 'sms', 'promotional', tz, US, null), false);
      }
    }
  }
});

test('hours: a window boundary inside the spring-forward gap maps forward, as instantOf does', () => {
  const tz = 'America/New_York';
  // 02:30 does not exist on 2026-03-08 (02:00 EST jumps to 03:00 EDT at 07:00 UTC): the
  // window opens at 02:30 shifted forward by the gap, 03:30 EDT = 07:30 UTC.
  const rules = withRule({ channels: ['sms'], kinds: ['promotional'], windows: [{ days: EVERY_DAY, start: '02:30', end: '21:00' }] });
  refusedUntil(utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30), rules, tz);
  // So 03:00 EDT, the first instant after the gap, is not yet inside: allowedFrom and
  // isAllowed use the same instants and never disagree.
  assert.equal(isAllowed(utc(2026, 3, 8, 7, 0), 'sms', 'promotional', tz, rules, null), false);
  // A quiet period ending at 02:30 that night also ends at 03:30 EDT.
  quietUntil(utc(2026, 3, 8, 6, 45), utc(2026, 3, 8, 7, 30), tz, { start: '23:00', end: '02:30' });
});

test('hours: a window boundary in the fall-back overlap is its first occurrence', () => {
  const tz = 'America/New_York';
  // 01:30 happens twice on 2026-11-01: 01:30 EDT = 05:30 UTC and 01:30 EST = 06:30 UTC.
  const rules = withRule({ channels: ['sms'], kinds: ['promotional'], windows: [{ days: EVERY_DAY, start: '01:30', end: '21:00' }] });
  refusedUntil(utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 5, 30), rules, tz);
  // 01:15 EST (06:15 UTC) reads earlier on the wall than 01:30 but comes after the window opened:
  // the window does not close again for the repeated hour.
  allowed(utc(2026, 11, 1, 6, 15), rules, tz);
});

test('hours: quiet hours 01:00–03:00 on both New York DST nights', () => {
  const tz = 'America/New_York';
  const quiet = { start: '01:00', end: '03:00' };
  // Spring-forward: 01:00 EST = 06:00 UTC, 03:00 EDT = 07:00 UTC; one real hour of quiet.
  notQuiet(utc(2026, 3, 8, 5, 59), tz, quiet);
  quietUntil(utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 7, 0), tz, quiet);
  quietUntil(utc(2026, 3, 8, 6, 59), utc(2026, 3, 8, 7, 0), tz, quiet);
  notQuiet(utc(2026, 3, 8, 7, 0), tz, quiet);
  // Fall-back: 01:00 EDT = 05:00 UTC, 03:00 EST = 08:00 UTC; three real hours of quiet,
  // including the repeated 01:xx (01:30 EST = 06:30 UTC).
  notQuiet(utc(2026, 11, 1, 4, 59), tz, quiet);
  quietUntil(utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 8, 0), tz, quiet);
  quietUntil(utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 8, 0), tz, quiet);
  quietUntil(utc(2026, 11, 1, 7, 59), utc(2026, 11, 1, 8, 0), tz, quiet);
  notQuiet(utc(2026, 11, 1, 8, 0), tz, quiet);
});

test('hours: Brazil, Mon–Fri 08–18, Sat 09–13, no Sunday (São Paulo, −03:00)', () => {
  const tz = 'America/Sao_Paulo';
  // Sunday 2026-03-08 12:00 BRT = 15:00 UTC: no window on Sundays, next is Monday 03-09
  // 08:00 BRT = 11:00 UTC.
  refusedUntil(utc(2026, 3, 8, 15, 0), utc(2026, 3, 9, 11, 0), BR, tz);
  // Saturday 03-07 13:00 BRT = 16:00 UTC closes Saturday's window; Sunday has none → Monday.
  refusedUntil(utc(2026, 3, 7, 16, 0), utc(2026, 3, 9, 11, 0), BR, tz);
  // Saturday 12:59 BRT is inside; 08:59 BRT waits for Saturday's own 09:00 (12:00 UTC), not 08:00.
  allowed(utc(2026, 3, 7, 15, 59), BR, tz);
  refusedUntil(utc(2026, 3, 7, 11, 59), utc(2026, 3, 7, 12, 0), BR, tz);
  // Friday 03-06 18:00 BRT = 21:00 UTC → Saturday 09:00 BRT = 12:00 UTC.
  refusedUntil(utc(2026, 3, 6, 21, 0), utc(2026, 3, 7, 12, 0), BR, tz);
  // Monday 17:59 BRT = 20:59 UTC inside.
  allowed(utc(2026, 3, 9, 20, 59), BR, tz);
});

test('hours: quiet hours crossing midnight (22:00–08:00, India)', () => {
  const tz = 'Asia/Kolkata';
  const quiet = { start: '22:00', end: '08:00' };
  // 2026-03-10 23:30 IST = 18:00 UTC: quiet until 08:00 IST the next day = 03-11 02:30 UTC.
  quietUntil(utc(2026, 3, 10, 18, 0), utc(2026, 3, 11, 2, 30), tz, quiet);
  // 03-11 07:59 IST = 02:29 UTC: still the period that began the evening before.
  quietUntil(utc(2026, 3, 11, 2, 29), utc(2026, 3, 11, 2, 30), tz, quiet);
  // 08:00 IST (end exclusive) and 12:00 IST are free; 21:59 free; 22:00 starts again.
  notQuiet(utc(2026, 3, 11, 2, 30), tz, quiet);
  notQuiet(utc(2026, 3, 11, 6, 30), tz, quiet);
  notQuiet(utc(2026, 3, 11, 16, 29), tz, quiet);
  quietUntil(utc(2026, 3, 11, 16, 30), utc(2026, 3, 12, 2, 30), tz, quiet);
  // An OTP goes through quiet hours; start = end means the user set none; null means none.
  const night = utc(2026, 3, 10, 18, 0);
  assert.deepEqual(checkQuietHours(night, 'transactional', tz, quiet), { reasons: [] });
  assert.equal(isAllowed(night, 'sms', 'transactional', tz, IN, quiet), true);
  assert.deepEqual(checkQuietHours(night, 'promotional', tz, { start: '22:00', end: '22:00' }), { reasons: [] });
  assert.deepEqual(checkQuietHours(night, 'promotional', tz, null), { reasons: [] });
  assert.deepEqual(checkQuietHours(night, 'promotional', tz, undefined), { reasons: [] });
});

test('hours: a legal window crossing midnight (Friday 22:00–06:00) belongs to the day it starts', () => {
  const tz = 'UTC';
  const rules = withRule({ channels: ['sms'], kinds: ['promotional'], windows: [{ days: [5], start: '22:00', end: '06:00' }] });
  // Friday 2026-03-13 23:00 and Saturday 05:59 are inside (Saturday is not listed, but the
  // tail of Friday's window runs into it).
  allowed(utc(2026, 3, 13, 23, 0), rules, tz);
  allowed(utc(2026, 3, 14, 5, 59), rules, tz);
  // Saturday 06:00 ends it; Saturday 23:00 has no window of its own: next Friday 22:00.
  refusedUntil(utc(2026, 3, 14, 6, 0), utc(2026, 3, 20, 22, 0), rules, tz);
  refusedUntil(utc(2026, 3, 14, 23, 0), utc(2026, 3, 20, 22, 0), rules, tz);
  // Thursday 23:00 is not Friday night; Friday 05:00 is the tail of (unlisted) Thursday.
  refusedUntil(utc(2026, 3, 12, 23, 0), utc(2026, 3, 13, 22, 0), rules, tz);
  refusedUntil(utc(2026, 3, 13, 5, 0), utc(2026, 3, 13, 22, 0), rules, tz);
});

test('hours: "24:00" ends the day, every applicable rule must allow, and a rule with no window allows nothing', () => {
  const tz = 'UTC';
  const evening = withRule({ channels: ['sms'], kinds: ['promotional'], windows: [{ days: EVERY_DAY, start: '18:00', end: '24:00' }] });
  allowed(utc(2026, 3, 10, 23, 59), evening, tz);
  refusedUntil(utc(2026, 3, 11, 0, 0), utc(2026, 3, 11, 18, 0), evening, tz);
  // Two rules for SMS (ANDed): 08:00–21:00 and 12:00–23:00 → only 12:00–21:00.
  const both: CountryRules = {
    ...country('default'),
    legalHours: [
      { channels: ['sms'], kinds: ['promotional'], windows: [{ days: EVERY_DAY, start: '08:00', end: '21:00' }] },
      { channels: ['sms'], kinds: ['promotional'], windows: [{ days: EVERY_DAY, start: '12:00', end: '23:00' }] },
    ],
  };
  refusedUntil(utc(2026, 3, 10, 9, 0), utc(2026, 3, 10, 12, 0), both, tz);
  refusedUntil(utc(2026, 3, 10, 21, 30), utc(2026, 3, 11, 12, 0), both, tz);
  allowed(utc(2026, 3, 10, 20, 59), both, tz);
  // An applicable rule with no windows refuses everything, with nothing to offer.
  const never = withRule({ channels: ['sms'], kinds: ['promotional'], windows: [] });
  assert.deepEqual(checkLegalHours(utc(2026, 3, 10, 12, 0), 'sms', 'promotional', tz, never), { reasons: ['legal_hours'] });
});

test('hours: nextAllowed combines legal and quiet hours', () => {
  const tz = 'Asia/Kolkata';
  const week = 7 * DAY;
  // 08:00 IST = 02:30 UTC. Legal opens at 10:00 IST but the user is quiet 09:00–11:00:
  // 11:00 IST = 05:30 UTC (legal alone would say 10:00, quiet alone 08:00).
  assert.equal(nextAllowed(utc(2026, 3, 10, 2, 30), 'sms', 'promotional', tz, IN, { start: '09:00', end: '11:00' }, week), utc(2026, 3, 10, 5, 30));
  // 21:30 IST = 16:00 UTC with quiet 22:00–08:00: quiet ends at 08:00 but legal waits for
  // 10:00 IST next day = 03-11 04:30 UTC.
  assert.equal(nextAllowed(utc(2026, 3, 10, 16, 0), 'sms', 'promotional', tz, IN, { start: '22:00', end: '08:00' }, week), utc(2026, 3, 11, 4, 30));
  // Already allowed → at itself; transactional ignores both.
  assert.equal(nextAllowed(utc(2026, 3, 10, 6, 30), 'sms', 'promotional', tz, IN, { start: '22:00', end: '08:00' }, week), utc(2026, 3, 10, 6, 30));
  assert.equal(nextAllowed(utc(2026, 3, 10, 18, 0), 'sms', 'transactional', tz, IN, { start: '22:00', end: '08:00' }, 0), utc(2026, 3, 10, 18, 0));
});

test('hours: nextAllowed alternates until both agree (Brazil Saturday)', () => {
  const tz = 'America/Sao_Paulo';
  const quiet = { start: '12:00', end: '19:00' };
  // Saturday 2026-03-07 12:30 BRT = 15:30 UTC: legal (until 13:00) but quiet until 19:00;
  // Saturday 19:00 is past Saturday's window, Sunday has none → Monday 08:00 BRT = 11:00 UTC,
  // which is not quiet.
  assert.equal(nextAllowed(utc(2026, 3, 7, 15, 30), 'sms', 'promotional', tz, BR, quiet, 7 * DAY), utc(2026, 3, 9, 11, 0));
  // Saturday 11:00 BRT = 14:00 UTC is legal and before quiet hours: now.
  assert.equal(nextAllowed(utc(2026, 3, 7, 14, 0), 'sms', 'promotional', tz, BR, quiet, 7 * DAY), utc(2026, 3, 7, 14, 0));
});

test('hours: nextAllowed gives up beyond the horizon or when quiet hours cover every legal minute', () => {
  const tz = 'Asia/Kolkata';
  // 21:00 IST = 15:30 UTC: next legal is 10:00 IST next day = 03-11 04:30 UTC, 13 h later.
  const at = utc(2026, 3, 10, 15, 30);
  assert.equal(nextAllowed(at, 'sms', 'promotional', tz, IN, null, 12 * HOUR), undefined);
  // The horizon is inclusive: exactly 13 h reaches it.
  assert.equal(nextAllowed(at, 'sms', 'promotional', tz, IN, null, 13 * HOUR), utc(2026, 3, 11, 4, 30));
  // Quiet 09:00–22:00 swallows the whole 10:00–21:00 legal window every day.
  assert.equal(nextAllowed(at, 'sms', 'promotional', tz, IN, { start: '09:00', end: '22:00' }, 7 * DAY), undefined);
  // Push is not restricted by the IN rule, so the same quiet hours end at 22:00 IST = 16:30 UTC.
  assert.equal(nextAllowed(at, 'push', 'promotional', tz, IN, { start: '09:00', end: '22:00' }, 7 * DAY), utc(2026, 3, 10, 16, 30));
});
