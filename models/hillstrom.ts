/**
 * Kevin Hillstrom's MineThatData e-mail experiment (data/hillstrom.csv, data/README.md):
 * 64,000 customers randomly sent a men's e-mail, a women's e-mail or nothing, with two-week
 * visit / conversion / spend. Real randomised data nobody here made, for checking the uplift
 * and off-policy code. This file parses it and turns a customer into a feature row.
 */

export type HillstromSegment = 'Mens E-Mail' | 'Womens E-Mail' | 'No E-Mail';

export interface HillstromRow {
  /** Months since last purchase (1–12). */
  recency: number;
  /** Dollars spent in the past year. */
  history: number;
  /** 1 if bought men's merchandise in the past year. */
  mens: number;
  /** 1 if bought women's merchandise in the past year. */
  womens: number;
  zipCode: 'Urban' | 'Surburban' | 'Rural';
  /** 1 if a new customer in the past twelve months. */
  newbie: number;
  /** Channels purchased from in the past year. */
  channel: 'Phone' | 'Web' | 'Multichannel';
  segment: HillstromSegment;
  visit: number;
  conversion: number;
  spend: number;
}

/** Fields of one CSV line; double-quoted fields may contain commas ("6) $750 - $1,000"). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const ZIPS = ['Urban', 'Surburban', 'Rural'] as const;
const CHANNELS = ['Phone', 'Web', 'Multichannel'] as const;
const SEGMENTS = ['Mens E-Mail', 'Womens E-Mail', 'No E-Mail'] as const;

function oneOf<T extends string>(values: readonly T[], v: string, what: string, line: number): T {
  if (!(values as readonly string[]).includes(v)) throw new Error(`hillstrom.csv line ${line}: ${what} "${v}" is not one of ${values.join(', ')}`);
  return v as T;
}

function num(v: string | undefined, what: string, line: number): number {
  const x = Number(v);
  if (v === undefined || v === '' || !Number.isFinite(x)) throw new Error(`hillstrom.csv line ${line}: ${what} "${v}" is not a number`);
  return x;
}

/** Parses the whole file (header required); throws on a malformed line, naming it. */
export function parseHillstrom(csv: string): HillstromRow[] {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = splitCsvLine(lines[0] ?? '');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`hillstrom.csv: no column "${name}" in header ${header.join(',')}`);
    return i;
  };
  const c = {
    recency: col('recency'),
    history: col('history'),
    mens: col('mens'),
    womens: col('womens'),
    zip: col('zip_code'),
    newbie: col('newbie'),
    channel: col('channel'),
    segment: col('segment'),
    visit: col('visit'),
    conversion: col('conversion'),
    spend: col('spend'),
  };
  return lines.slice(1).map((l, k) => {
    const f = splitCsvLine(l);
    const line = k + 2;
    return {
      recency: num(f[c.recency], 'recency', line),
      history: num(f[c.history], 'history', line),
      mens: num(f[c.mens], 'mens', line),
      womens: num(f[c.womens], 'womens', line),
      zipCode: oneOf(ZIPS, f[c.zip] ?? '', 'zip_code', line),
      newbie: num(f[c.newbie], 'newbie', line),
      channel: oneOf(CHANNELS, f[c.channel] ?? '', 'channel', line),
      segment: oneOf(SEGMENTS, f[c.segment] ?? '', 'segment', line),
      visit: num(f[c.visit], 'visit', line),
      conversion: num(f[c.conversion], 'conversion', line),
      spend: num(f[c.spend], 'spend', line),
    };
  });
}

export const HILLSTROM_FEATURES = [
  'recency',
  'log_history', // log1p(dollars): spend is heavy-tailed ($30 to $3,346)
  'mens',
  'womens',
  'zip_urban',
  'zip_suburban',
  'zip_rural',
  'newbie',
  'channel_phone',
  'channel_web',
  'channel_multichannel',
] as const;

/** The customer's pre-treatment features, HILLSTROM_FEATURES order (outcomes and segment excluded). */
export function hillstromFeatures(r: HillstromRow): Float32Array {
  return Float32Array.of(
    r.recency,
    Math.log1p(r.history),
    r.mens,
    r.womens,
    r.zipCode === 'Urban' ? 1 : 0,
    r.zipCode === 'Surburban' ? 1 : 0,
    r.zipCode === 'Rural' ? 1 : 0,
    r.newbie,
    r.channel === 'Phone' ? 1 : 0,
    r.channel === 'Web' ? 1 : 0,
    r.channel === 'Multichannel' ? 1 : 0,
  );
}

/** Treatment = any e-mail (men's or women's) versus none. */
export function isTreated(r: HillstromRow): boolean {
  return r.segment !== 'No E-Mail';
}
