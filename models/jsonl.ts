/**
 * Reading training inputs: decision records and events as JSON lines files (what
 * `kcat -C -t nudge.decisions` or a topic archive gives) or as in-memory iterables. Records
 * that do not parse or lack the fields training needs are counted and skipped, never fatal:
 * one bad line in a month of logs must not stop a training run (DESIGN invariant 6, offline).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export type Source<T> = string | Iterable<T> | AsyncIterable<T>;

export interface ReadStats {
  /** Records seen (JSON lines: non-empty lines). */
  read: number;
  /** Of those, unparsable or lacking required fields. */
  invalid: number;
}

/** Every line of a JSON lines file, parsed; unparsable lines are counted in `stats.invalid`. */
export async function* readJsonLines(path: string, stats: ReadStats): AsyncGenerator<unknown> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line) as unknown;
    } catch {
      stats.read++;
      stats.invalid++;
    }
  }
}

/** Items of a source (path or iterable), each checked by `accept`; rejected items are counted. */
export async function* items<T>(source: Source<T> | Source<unknown>, accept: (x: unknown) => T | undefined, stats: ReadStats): AsyncGenerator<T> {
  const it: Iterable<unknown> | AsyncIterable<unknown> = typeof source === 'string' ? readJsonLines(source, stats) : source;
  for await (const raw of it) {
    stats.read++;
    const v = accept(raw);
    if (v === undefined) stats.invalid++;
    else yield v;
  }
}

/** Epoch ms from a number or an ISO-8601 string (inputs accept both, CONTRACT.md); undefined otherwise. */
export function epochMs(x: unknown): number | undefined {
  const v = typeof x === 'number' ? x : typeof x === 'string' ? Date.parse(x) : NaN;
  return Number.isFinite(v) ? v : undefined;
}

export function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
