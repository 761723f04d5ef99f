/**
 * User-local time through Intl, fast enough for the hot path: a zone's UTC offset is
 * looked up once per 15-minute bucket (every zone offset and every transition in the tz
 * database falls on a quarter hour) and the calendar fields are then plain arithmetic.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
const BUCKET = 15 * MINUTE;

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Offsets per zone, by 15-minute bucket: a map per zone, so the hot path builds no string keys. */
const offsets = new Map<string, Map<number, number>>();
let cachedOffsets = 0;
const validity = new Map<string, boolean>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  let ok = validity.get(timeZone);
  if (ok === undefined) {
    try {
      formatter(timeZone);
      ok = true;
    } catch {
      ok = false;
    }
    validity.set(timeZone, ok);
  }
  return ok;
}

/** The zone's offset from UTC at instant `ms`, in minutes (India: +330, Nepal: +345). */
export function offsetMinutes(ms: number, timeZone: string): number {
  const bucket = Math.floor(ms / BUCKET);
  let zone = offsets.get(timeZone);
  if (zone === undefined) offsets.set(timeZone, (zone = new Map()));
  let offset = zone.get(bucket);
  if (offset === undefined) {
    const at = bucket * BUCKET;
    const parts = formatter(timeZone).formatToParts(at);
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
    offset = Math.round((asUtc - at) / MINUTE);
    // Bounded: a long-running replica must not grow this map without limit.
    if (++cachedOffsets > 200_000) {
      offsets.clear();
      cachedOffsets = 0;
      offsets.set(timeZone, (zone = new Map()));
    }
    zone.set(bucket, offset);
  }
  return offset;
}

export interface LocalTime {
  /** Days since 1970-01-01 in local time: equal for two instants on the same local calendar day. */
  day: number;
  /** Minutes since local midnight, 0–1439. */
  minuteOfDay: number;
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
  /** 0–167, Monday 00:00–00:59 = 0. */
  hourOfWeek: number;
  offset: number;
}

export function localTime(ms: number, timeZone: string): LocalTime {
  const offset = offsetMinutes(ms, timeZone);
  const local = ms + offset * MINUTE;
  const day = Math.floor(local / DAY);
  const minuteOfDay = Math.floor((local - day * DAY) / MINUTE);
  // 1970-01-01 was a Thursday (ISO 4).
  const weekday = ((((day + 3) % 7) + 7) % 7) + 1;
  return { day, minuteOfDay, weekday, hourOfWeek: (weekday - 1) * 24 + Math.floor(minuteOfDay / 60), offset };
}

/**
 * The instant at which local time in `timeZone` reads `minuteOfDay` on local day `day`.
 * In an overlap (the wall time exists twice) the earlier instant; in a DST gap (it does
 * not exist) the wall time shifted forward by the gap, as Temporal's "compatible" does:
 * 02:30 on a spring-forward night in New York becomes 03:30.
 */
export function instantOf(day: number, minuteOfDay: number, timeZone: string): number {
  const localMs = day * DAY + minuteOfDay * MINUTE;
  // Guess with the offset at the naive instant, then correct with the offset at the guess.
  const guess = localMs - offsetMinutes(localMs, timeZone) * MINUTE;
  const corrected = localMs - offsetMinutes(guess, timeZone) * MINUTE;
  const candidates = corrected === guess ? [guess] : [Math.min(guess, corrected), Math.max(guess, corrected)];
  for (const at of candidates) {
    const t = localTime(at, timeZone);
    if (t.day === day && t.minuteOfDay === minuteOfDay) return at;
  }
  return Math.max(guess, corrected);
}

/** The instant local midnight starts the local day containing `ms`. */
export function startOfLocalDay(ms: number, timeZone: string): number {
  return instantOf(localTime(ms, timeZone).day, 0, timeZone);
}

/** "HH:MM" → minutes since midnight ("24:00" → 1440). */
export function parseHourMinute(value: string): number {
  const [h, m] = value.split(':').map(Number);
  return (h as number) * 60 + (m as number);
}
