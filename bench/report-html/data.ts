/**
 * What the demo's HTML report shows, as plain data: embedded in the page as JSON and written
 * beside it as a .json file, so the figures can be read without a browser.
 */
export interface DemoReport {
  title: string;
  run: { users: number; partitions: number; seed: number; hours: number; historyDays: number; day: string };
  /** Wall-clock seconds of each phase of the run. */
  timings: { generate: number; load: number; decide: number; day: number; total: number };
  counts: { historyEvents: number; candidates: number; decisions: number; sends: number; deadLetters: number };
  feedback: { fed: Record<string, number>; pending: Record<string, number>; afterOptOut: number };
  /** Rates between samples taken every ~250 ms of the run (t in seconds since it started). */
  throughput: Array<{ t: number; decisionsPerSec: number; eventsPerSec: number; sendsPerSec: number }>;
  /** Per-batch processing-and-commit latency, microseconds, by batch kind. */
  latency: Record<string, { batches: number; p50: number; p90: number; p99: number; p999: number; max: number; cdf: Array<[number, number]> }>;
  /** Share of messages by the recipient's local hour, and the messaged users' true activity by hour (shares of their day). */
  sendHours: { sends: number[]; activity: number[]; atHabit: number };
  quality: Array<{ policy: string; sends: number; clicksPer1000: number; conversionsPer1000: number; optOutsPer1000: number; costPerConversion: number }>;
}

/** JSON that can sit inside a <script> element: nothing in it can close the element or open a comment. */
export function embeddableJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
